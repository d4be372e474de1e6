#!/usr/bin/env bash
# Checks `make run` end to end: on a database and port of its own, it must answer ping within a minute, load the
# example hooks, print the development client's credentials, serve metrics and healthy heartbeats on every
# daemon, and stop cleanly on Ctrl-C (SIGINT to its group).
set -euo pipefail
cd "$(dirname "$0")/.."

port=$((18000 + RANDOM % 1000))
db="hooks_smoke_$$"
log=$(mktemp)
export HOOKS_LISTEN="127.0.0.1:$port"
export SCHEDULER_METRICS="127.0.0.1:$((port + 1000))"
export LISTENER_METRICS="127.0.0.1:$((port + 2000))"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"

cleanup() {
  kill -INT -- "-$pid" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
  rm -f "$log"
}
fail() {
  echo "smoke: FAILED: $1"
  sed 's/^/  | /' "$log" | tail -n 30
  exit 1
}

setsid make run >"$log" 2>&1 &
pid=$!
trap cleanup EXIT

start=$(date +%s)
until curl -fsS "http://$HOOKS_LISTEN/api/hooks/v1/ping" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || fail "make run exited early"
  (($(date +%s) - start < 60)) || fail "no answer to ping within 60 s"
  sleep 0.5
done
elapsed=$(($(date +%s) - start))

for _ in $(seq 1 20); do grep -q "access token" "$log" && break; sleep 0.5; done
grep -q "access token" "$log" || fail "no development credentials printed"
for addr in "$HOOKS_LISTEN" "$SCHEDULER_METRICS" "$LISTENER_METRICS"; do
  for _ in $(seq 1 40); do curl -fsS "http://$addr/__heartbeat__" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "http://$addr/__heartbeat__" >/dev/null 2>&1 || fail "no healthy heartbeat at $addr"
  curl -fsS "http://$addr/metrics" | grep -q '^hooks_db_pool_connections' || fail "no metrics at $addr/metrics"
done
grep -q "$SCHEDULER_METRICS/metrics" "$log" || fail "make run did not print where the metrics are"
hooks=$(psql -tA -h 127.0.0.1 -U postgres -c "SELECT count(*) FROM hooks WHERE hook_group_id = 'examples'" "$db")
[ "$hooks" = 2 ] || fail "expected the 2 example hooks, found $hooks"

kill -INT -- "-$pid"
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$pid" 2>/dev/null && fail "still running 10 s after Ctrl-C"
pgrep -g "$pid" >/dev/null && fail "a daemon outlived make run"

echo "smoke: make run answered ping after ${elapsed}s, served healthy heartbeats and metrics, loaded the examples, stopped on Ctrl-C"
