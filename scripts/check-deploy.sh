#!/usr/bin/env bash
# Validates deploy/ (Kubernetes manifests, systemd units): see scripts/check-deploy.py.
# The first run creates .venv-deploy/ with the pinned packages of scripts/check-deploy.requirements.txt; later runs
# reuse it, and rebuild it only when that file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-deploy
requirements=scripts/check-deploy.requirements.txt
stamp="$venv/.requirements"
if ! [ -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    echo "check-deploy: installing $requirements into $venv/"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-virtualenv -r "$requirements"
    cp "$requirements" "$stamp"
fi
exec "$venv/bin/python" scripts/check-deploy.py "$@"
