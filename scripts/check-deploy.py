#!/usr/bin/env python3
"""Checks deploy/: the Kubernetes manifests against the Kubernetes schemas, plus this project's rules, and the
systemd units. Run by scripts/check-deploy.sh (which provides the pinned venv), from `make test`.

Kubernetes: every YAML document under deploy/kubernetes parses and validates (strict: unknown fields are errors)
against the schema of its kind and apiVersion, for each Kubernetes version in K8S_VERSIONS; kustomization.yaml
lists every manifest but the Secret example. Project rules: every environment variable the containers get (env,
and the keys of the ConfigMaps and Secrets they take with envFrom) is documented in docs/configuration.md; boolean
and enumerated settings have values the binaries accept; each daemon's Deployment runs its binary with a liveness
probe on /__lbheartbeat__ and a readiness probe on /__heartbeat__, on the port its listen setting names; the
scheduler has at least 2 replicas; every container sets CPU and memory requests and a memory limit, runs as
non-root with a read-only root filesystem and no privilege escalation; the Service and the HorizontalPodAutoscaler
point at the api-server Deployment.

systemd: the three units are well-formed INI with the sections and keys required here (EnvironmentFile,
Restart=on-failure, hardening), run the right binary, name only documented variables, and pass
`systemd-analyze verify` (any message it prints is a failure) when it is installed; the example env file names
only documented variables.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBE_DIR = ROOT / "deploy" / "kubernetes"
SYSTEMD_DIR = ROOT / "deploy" / "systemd"
CONFIG_DOC = ROOT / "docs" / "configuration.md"

# The oldest Kubernetes release these manifests are meant for, and the newest the validator bundles.
K8S_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]

BINARIES = {
    "api-server": "hooks-api-server",
    "scheduler": "hooks-scheduler",
    "pulse-listener": "hooks-pulse-listener",
}
# The variable that sets the address each daemon serves its health routes on.
LISTEN_VAR = {
    "api-server": "HOOKS_LISTEN",
    "scheduler": "HOOKS_METRICS_LISTEN",
    "pulse-listener": "HOOKS_METRICS_LISTEN",
}
LIVENESS_PATH = "/__lbheartbeat__"
READINESS_PATH = "/__heartbeat__"
# clap's boolean flags take exactly `true` or `false` from their variable; enumerations take their value names.
ALLOWED_VALUES = {
    "HOOKS_NO_MIGRATE": {"true", "false"},
    "HOOKS_CREATE_DATABASE": {"true", "false"},
    "HOOKS_TRUST_PROXY": {"true", "false"},
    "HOOKS_AUTH": {"static", "remote"},
    "HOOKS_LOG_FORMAT": {"text", "json"},
    "HOOKS_CATCH_UP": {"latest", "all"},
}
SYSTEMD_REQUIRED = {
    "Unit": {"Description"},
    "Service": {
        "ExecStart",
        "EnvironmentFile",
        "Restart",
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "DynamicUser",
        "CapabilityBoundingSet",
        "SystemCallFilter",
    },
    "Install": {"WantedBy"},
}


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.passed = 0

    def check(self, ok: bool, what: str) -> None:
        """Records one check; `what` says what was expected, naming the file and object."""
        if ok:
            self.passed += 1
        else:
            self.errors.append(what)


def documented_variables() -> set[str]:
    """Every upper-case name in backticks in docs/configuration.md."""
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", CONFIG_DOC.read_text()))


def load_kube_documents(c: Checker) -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(KUBE_DIR.glob("*.yaml")):
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as e:
            c.check(False, f"{path.name}: not valid YAML: {e}")
            continue
        for doc in loaded:
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                c.check(False, f"{path.name}: a document without kind and apiVersion")
                continue
            docs.append((path.name, doc))
    c.check(bool(docs), f"{KUBE_DIR}: no manifests found")
    return docs


def name_of(file: str, doc: dict) -> str:
    return f"{file}: {doc['kind']}/{doc.get('metadata', {}).get('name', '?')}"


def validate_schemas(c: Checker, docs: list[tuple[str, dict]]) -> None:
    for file, doc in docs:
        if doc["kind"] == "Kustomization":
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                c.check(True, "")
            except kubernetes_validate.ValidationError as e:
                path = "/".join(str(p) for p in e.absolute_path) or "(top)"
                c.check(False, f"{name_of(file, doc)}: Kubernetes {version} schema: at {path}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                c.check(False, f"{name_of(file, doc)}: {e.message}")


def check_kustomization(c: Checker, docs: list[tuple[str, dict]]) -> None:
    kustomizations = [doc for file, doc in docs if doc["kind"] == "Kustomization"]
    c.check(len(kustomizations) == 1, "deploy/kubernetes: expected exactly one kustomization.yaml")
    if not kustomizations:
        return
    listed = kustomizations[0].get("resources", [])
    for resource in listed:
        c.check((KUBE_DIR / resource).is_file(), f"kustomization.yaml: resource {resource} does not exist")
    manifests = {p.name for p in KUBE_DIR.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    for missing in sorted(manifests - set(listed)):
        c.check(False, f"kustomization.yaml: {missing} is not listed in resources")
    c.check("secret.example.yaml" not in listed, "kustomization.yaml: the Secret example must not be applied")


def pod_spec(doc: dict) -> dict | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return doc.get("spec", {}).get("template", {}).get("spec", {})
    if doc["kind"] == "CronJob":
        return doc.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return None


def listen_port(value: str) -> int | None:
    m = re.fullmatch(r".*:(\d+)", value)
    return int(m.group(1)) if m else None


def probe_port(container: dict, probe: dict) -> int | None:
    """The container port number an httpGet probe addresses (by number or by port name)."""
    port = probe.get("httpGet", {}).get("port")
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def check_env_values(c: Checker, where: str, env: dict[str, str], documented: set[str]) -> None:
    for name, value in env.items():
        c.check(name in documented, f"{where}: environment variable {name} is not documented in docs/configuration.md")
        if name in ALLOWED_VALUES and value is not None:
            c.check(
                value in ALLOWED_VALUES[name],
                f"{where}: {name}={value!r}: the binaries accept only {sorted(ALLOWED_VALUES[name])}",
            )


def check_workloads(c: Checker, docs: list[tuple[str, dict]], documented: set[str]) -> None:
    env_sources = {
        (doc["kind"], doc["metadata"]["name"]): {**doc.get("data", {}), **doc.get("stringData", {})}
        for _, doc in docs
        if doc["kind"] in ("ConfigMap", "Secret")
    }
    for (kind, name), data in env_sources.items():
        check_env_values(c, f"{kind}/{name}", {k: str(v) for k, v in data.items()}, documented)

    deployments = {doc["metadata"]["name"]: (file, doc) for file, doc in docs if doc["kind"] == "Deployment"}
    components_seen = set()
    for file, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = name_of(file, doc)
        security = spec.get("securityContext", {})
        containers = spec.get("containers", []) + spec.get("initContainers", [])
        c.check(bool(containers), f"{where}: no containers")
        for container in containers:
            cwhere = f"{where} container {container.get('name')}"
            # Environment: explicit entries, then what envFrom brings in.
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            check_env_values(c, cwhere, env, documented)
            for source in container.get("envFrom", []):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if key in source:
                        ref = source[key]["name"]
                        c.check(
                            (kind, ref) in env_sources,
                            f"{cwhere}: envFrom {kind} {ref} is not defined under deploy/kubernetes",
                        )
            # Resources.
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            c.check("cpu" in requests and "memory" in requests, f"{cwhere}: set resources.requests cpu and memory")
            c.check("memory" in limits, f"{cwhere}: set resources.limits.memory")
            # Security.
            csec = container.get("securityContext", {})
            c.check(
                csec.get("runAsNonRoot", security.get("runAsNonRoot")) is True,
                f"{cwhere}: runAsNonRoot must be true (pod or container securityContext)",
            )
            c.check(csec.get("readOnlyRootFilesystem") is True, f"{cwhere}: readOnlyRootFilesystem must be true")
            c.check(
                csec.get("allowPrivilegeEscalation") is False, f"{cwhere}: allowPrivilegeEscalation must be false"
            )

        if doc["kind"] != "Deployment":
            continue
        component = doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        c.check(component in BINARIES, f"{where}: label app.kubernetes.io/component must be one of {list(BINARIES)}")
        if component not in BINARIES:
            continue
        components_seen.add(component)
        if not spec.get("containers"):
            continue
        main = spec["containers"][0]
        c.check(
            main.get("command", [None])[0] == BINARIES[component],
            f"{where}: the first container must run {BINARIES[component]}",
        )
        env = {e["name"]: e.get("value") for e in main.get("env", [])}
        listen = env.get(LISTEN_VAR[component])
        c.check(listen is not None, f"{where}: set {LISTEN_VAR[component]} (where the health routes are served)")
        port = listen_port(listen or "")
        c.check(
            listen is None or listen.startswith("0.0.0.0:"),
            f"{where}: {LISTEN_VAR[component]}={listen} must listen on 0.0.0.0 for the kubelet's probes",
        )
        for probe_name, path in (
            ("livenessProbe", LIVENESS_PATH),
            ("readinessProbe", READINESS_PATH),
            ("startupProbe", LIVENESS_PATH),
        ):
            probe = main.get(probe_name)
            if probe is None and probe_name == "startupProbe":
                continue
            c.check(probe is not None, f"{where}: {probe_name} missing")
            if probe is None:
                continue
            c.check(
                probe.get("httpGet", {}).get("path") == path,
                f"{where}: {probe_name} must GET {path}, not {probe.get('httpGet', {}).get('path')}",
            )
            c.check(
                probe_port(main, probe) == port,
                f"{where}: {probe_name} port must be the port of {LISTEN_VAR[component]} ({port})",
            )
        if component == "scheduler":
            c.check(doc["spec"].get("replicas", 1) >= 2, f"{where}: the scheduler needs replicas >= 2")

    for component in BINARIES:
        c.check(component in components_seen, f"deploy/kubernetes: no Deployment for the {component}")

    api = deployments.get("hooks-api-server")
    for file, doc in docs:
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            c.check(
                target.get("kind") == "Deployment" and target.get("name") in deployments,
                f"{name_of(file, doc)}: scaleTargetRef must name a Deployment defined here",
            )
        if doc["kind"] == "Service" and api is not None:
            labels = api[1]["spec"]["template"]["metadata"]["labels"]
            selector = doc["spec"].get("selector", {})
            c.check(
                bool(selector) and all(labels.get(k) == v for k, v in selector.items()),
                f"{name_of(file, doc)}: selector must match the api-server's pods",
            )
            port_names = {p.get("name") for p in api[1]["spec"]["template"]["spec"]["containers"][0].get("ports", [])}
            for p in doc["spec"].get("ports", []):
                c.check(
                    p.get("targetPort") in port_names or isinstance(p.get("targetPort"), int),
                    f"{name_of(file, doc)}: targetPort {p.get('targetPort')} is not a port of the api-server",
                )


def parse_unit(text: str) -> configparser.ConfigParser:
    # systemd allows repeated keys (SystemCallFilter=...); keep the last, we only check presence.
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(text)
    return parser


def env_file_names(text: str) -> dict[str, str]:
    names = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            # Commented-out settings must be documented too.
            line = line.lstrip("#").strip()
            if not re.match(r"[A-Z][A-Z0-9_]*=", line):
                continue
        if not line:
            continue
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if m:
            names[m.group(1)] = m.group(2).strip("'\"")
    return names


def check_systemd(c: Checker, documented: set[str]) -> None:
    units = sorted(SYSTEMD_DIR.glob("*.service"))
    c.check(
        {u.stem for u in units} == set(BINARIES.values()),
        f"deploy/systemd: expected one unit for each of {sorted(BINARIES.values())}",
    )
    for unit in units:
        text = unit.read_text()
        try:
            parsed = parse_unit(text)
        except configparser.Error as e:
            c.check(False, f"{unit.name}: not a well-formed unit file: {e}")
            continue
        for section, keys in SYSTEMD_REQUIRED.items():
            c.check(parsed.has_section(section), f"{unit.name}: missing [{section}]")
            for key in keys:
                c.check(parsed.has_option(section, key), f"{unit.name}: [{section}] needs {key}=")
        service = parsed["Service"] if parsed.has_section("Service") else {}
        c.check(
            service.get("ExecStart", "").split()[:1] == [f"/usr/local/bin/{unit.stem}"],
            f"{unit.name}: ExecStart must run /usr/local/bin/{unit.stem}",
        )
        c.check(
            service.get("EnvironmentFile") == "/etc/hooks/hooks.env",
            f"{unit.name}: EnvironmentFile must be /etc/hooks/hooks.env",
        )
        c.check(service.get("Restart") == "on-failure", f"{unit.name}: Restart must be on-failure")
        # Variables the unit sets, and those its command line expands.
        for line in text.splitlines():
            m = re.match(r"\s*Environment=(.*)", line)
            if m:
                for assignment in m.group(1).split():
                    name, _, value = assignment.strip("'\"").partition("=")
                    check_env_values(c, f"{unit.name}: Environment=", {name: value}, documented)
        for name in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", service.get("ExecStart", "")):
            c.check(name in documented, f"{unit.name}: ExecStart uses undocumented variable {name}")

    env_example = SYSTEMD_DIR / "hooks.env.example"
    c.check(env_example.is_file(), "deploy/systemd/hooks.env.example is missing")
    if env_example.is_file():
        names = env_file_names(env_example.read_text())
        c.check(bool(names), "hooks.env.example: sets no variables")
        check_env_values(c, "hooks.env.example", names, documented)
        c.check(
            "HOOKS_METRICS_LISTEN" not in names,
            "hooks.env.example: HOOKS_METRICS_LISTEN belongs in each unit (it overrides the units' ports)",
        )

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("check-deploy: systemd-analyze not installed; systemd units checked by structure only")
        return
    # `verify` insists the ExecStart binary exists: point the units at stand-ins in a scratch directory.
    with tempfile.TemporaryDirectory() as scratch:
        copies = []
        for unit in units:
            stand_in = Path(scratch) / "bin" / unit.stem
            stand_in.parent.mkdir(exist_ok=True)
            stand_in.write_text("#!/bin/sh\n")
            stand_in.chmod(0o755)
            copy = Path(scratch) / unit.name
            copy.write_text(unit.read_text().replace(f"/usr/local/bin/{unit.stem}", str(stand_in)))
            copies.append(str(copy))
        env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""}
        done = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True, env=env)
        output = (done.stdout + done.stderr).strip().replace(scratch + "/", "")
        c.check(done.returncode == 0 and not output, f"systemd-analyze verify:\n{output}")


def check_containerfile(c: Checker) -> None:
    """The container build: a builder on the workspace's Rust version building every binary the workspace
    declares, locked; a runtime stage that copies them and runs as the non-root user the manifests expect."""
    path = ROOT / "deploy" / "Containerfile"
    text = path.read_text()
    rust_version = re.search(r'^rust-version = "([0-9.]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    c.check(len(stages) >= 2, f"{path}: a builder and a runtime stage")
    c.check(
        bool(rust_version) and bool(stages) and f"rust:{rust_version.group(1)}" in stages[0],
        f"{path}: the builder uses rust:{rust_version.group(1) if rust_version else '?'} (the workspace's rust-version)",
    )
    c.check("cargo build --release --locked" in text, f"{path}: builds with cargo build --release --locked")
    declared = set()
    for manifest in ROOT.glob("crates/*/Cargo.toml"):
        declared |= set(re.findall(r'^\[\[bin\]\]\s*\nname = "([^"]+)"', manifest.read_text(), re.M))
    c.check(
        len(declared) == 4 and "hooks-render" in declared,
        f"the workspace declares the three daemons' binaries and the render worker (found {sorted(declared)})",
    )
    for binary in sorted(declared):
        c.check(f"--bin {binary}" in text, f"{path}: builds {binary}")
    c.check("COPY --from=builder" in text, f"{path}: the runtime stage copies the binaries from the builder")
    user = re.findall(r"^USER\s+(\d+)", text, re.M)
    c.check(bool(user) and user[-1] == "10001", f"{path}: runs as numeric user 10001, as the manifests' runAsUser")


def main() -> int:
    c = Checker()
    documented = documented_variables()
    c.check(len(documented) > 10, f"{CONFIG_DOC}: found too few documented variables ({len(documented)})")
    docs = load_kube_documents(c)
    # A manifest malformed enough to trip a project check is still reported by the other phases.
    for phase in (
        lambda: validate_schemas(c, docs),
        lambda: check_kustomization(c, docs),
        lambda: check_workloads(c, docs, documented),
        lambda: check_systemd(c, documented),
        lambda: check_containerfile(c),
    ):
        try:
            phase()
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            c.check(False, f"a manifest lacks what a check needs ({type(e).__name__}: {e}); see the errors above")
    for error in c.errors:
        print(f"check-deploy: FAIL {error}", file=sys.stderr)
    total = c.passed + len(c.errors)
    if c.errors:
        print(f"check-deploy: {len(c.errors)} of {total} checks failed")
    else:
        print(f"check-deploy: all {total} checks passed")
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
