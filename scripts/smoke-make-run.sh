#!/usr/bin/env bash
# Checks `make run` end to end, three times: in this checkout (on a database of its own, building the binaries),
# then in two fresh copies of it one after the other on the same machine, each on its own default development
# database and with its own .dev/ key (the second starts after the first has created its database). Each run must
# answer ping within a minute, print the development client's credentials and its database, load the example
# hooks, fire one through triggerHook, serve metrics and healthy heartbeats on every daemon, and stop cleanly on
# Ctrl-C (SIGINT to its group).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

log=$(mktemp)
work=$(mktemp -d)
pid=
dbs=()
cleanup() {
  [ -n "$pid" ] && kill -INT -- "-$pid" 2>/dev/null || true
  for db in "${dbs[@]}"; do
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" postgres >/dev/null 2>&1 || true
  done
  rm -rf "$log" "$work"
}
trap cleanup EXIT
fail() {
  echo "smoke: FAILED ($label): $1"
  sed 's/^/  | /' "$log" | tail -n 30
  exit 1
}

# A fresh copy of this checkout: the files git tracks or would track, without .dev/ or target/.
fresh_copy() {
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$1"
}

# smoke DIR LABEL: runs `make run` in DIR and checks it.
smoke() {
  local dir=$1 port=$((18000 + RANDOM % 1000))
  label=$2
  export HOOKS_LISTEN="127.0.0.1:$port"
  export SCHEDULER_METRICS="127.0.0.1:$((port + 1000))"
  export LISTENER_METRICS="127.0.0.1:$((port + 2000))"
  : >"$log"
  # setsid execs make in a session and process group of its own, whose id is $! (Ctrl-C goes to that group).
  setsid make -C "$dir" run >"$log" 2>&1 &
  pid=$!

  local start elapsed
  start=$(date +%s)
  until curl -fsS "http://$HOOKS_LISTEN/api/hooks/v1/ping" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "make run exited early"
    (($(date +%s) - start < 60)) || fail "no answer to ping within 60 s"
    sleep 0.5
  done
  elapsed=$(($(date +%s) - start))

  for _ in $(seq 1 20); do grep -q "access token" "$log" && break; sleep 0.5; done
  grep -q "access token" "$log" || fail "no development credentials printed"
  local db
  db=$(sed -n 's|^make run: database postgres://[^/]*/\([a-z0-9_]*\) .*|\1|p' "$log")
  [ -n "$db" ] || fail "make run did not print its database"
  dbs+=("$db")
  grep -q "make reset-dev" "$log" || fail "make run did not say how to reset its database"
  for addr in "$HOOKS_LISTEN" "$SCHEDULER_METRICS" "$LISTENER_METRICS"; do
    for _ in $(seq 1 40); do curl -fsS "http://$addr/__heartbeat__" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fsS "http://$addr/__heartbeat__" >/dev/null 2>&1 || fail "no healthy heartbeat at $addr"
    curl -fsS "http://$addr/metrics" | grep -q '^hooks_db_pool_connections' || fail "no metrics at $addr/metrics"
  done
  grep -q "$SCHEDULER_METRICS/metrics" "$log" || fail "make run did not print where the metrics are"
  local hooks tasks expected
  hooks=$(psql -tA -h 127.0.0.1 -U postgres -c "SELECT count(*) FROM hooks WHERE hook_group_id = 'examples'" "$db")
  expected=$(ls "$dir"/examples/*.json | wc -l)
  [ "$hooks" = "$expected" ] || fail "expected the $expected example hooks of examples/ in $db, found $hooks"
  python3 scripts/hawk-post.py "http://$HOOKS_LISTEN/api/hooks/v1/hooks/examples/webhook/trigger" dev-client \
    "$(cat "$dir/.dev/access-token")" '{"branch": "main"}' >/dev/null || fail "triggerHook on examples/webhook failed"
  tasks=$(psql -tA -h 127.0.0.1 -U postgres -c \
    "SELECT count(*) FROM embedded_tasks WHERE hook_id = 'webhook' AND definition->'payload'->'env'->>'BRANCH' = 'main'" "$db")
  [ "$tasks" -ge 1 ] || fail "the example hook fired but no task is in $db"

  kill -INT -- "-$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && fail "still running 10 s after Ctrl-C"
  # Render workers end with their daemon's thread (a parent-death signal): give them a moment.
  for _ in $(seq 1 12); do pgrep -g "$pid" >/dev/null || break; sleep 0.25; done
  pgrep -g "$pid" >/dev/null && fail "a daemon outlived make run: $(pgrep -a -g "$pid")"
  pid=
  echo "smoke ($label): make run answered ping after ${elapsed}s on $db, fired the example hook, served heartbeats and metrics, stopped on Ctrl-C"
}

# This checkout, on a database of the smoke test's own (a developer's own development database is left alone).
DATABASE_URL="postgres://postgres@127.0.0.1:5432/hooks_smoke_$$" smoke "$root" "this checkout"

# Two fresh copies, on their default development databases. They use the binaries just built (HOOKS_DEV_BIN skips
# the build, which would otherwise recompile the workspace at each new path).
unset DATABASE_URL
export HOOKS_DEV_BIN="${CARGO_TARGET_DIR:-$root/target}/debug"
fresh_copy "$work/first"
fresh_copy "$work/second"
smoke "$work/first" "first fresh clone"
smoke "$work/second" "second fresh clone"
[ "${dbs[1]}" != "${dbs[2]}" ] || { label=clones; fail "both clones used database ${dbs[1]}"; }
# The first clone again without its .dev/ (its key is lost): its examples are replaced, not refused.
rm -rf "$work/first/.dev"
smoke "$work/first" "first clone, .dev/ deleted"
grep -q "replacing a stored hook whose secrets cannot be opened" "$log" || fail "the examples were not replaced"
