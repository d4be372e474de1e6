#!/usr/bin/env bash
# `make run`: builds and runs all three daemons in the foreground on the embedded defaults, with a development
# crypto key and client kept in .dev/ (so tokens sealed by one run still open in the next), and the example
# hooks from examples/. Ctrl-C stops everything.
#
# Each checkout gets a development database of its own, named from the checkout's path (scripts/dev-db.sh), so a
# second clone on the same machine never meets the first one's hooks sealed under another .dev/crypto-key.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh
# HOOKS_DEV_BIN: a directory of binaries already built from this same tree (the smoke test's fresh copies use it).
if [ -n "${HOOKS_DEV_BIN:-}" ]; then
  bin=$HOOKS_DEV_BIN
else
  cargo build --bins
  bin="${CARGO_TARGET_DIR:-target}/debug"
fi

mkdir -p .dev
[ -s .dev/crypto-key ] || head -c 32 /dev/urandom | base64 > .dev/crypto-key
[ -s .dev/access-token ] || head -c 33 /dev/urandom | base64 | tr '+/' '-_' > .dev/access-token

export HOOKS_CRYPTO_KEY="$(cat .dev/crypto-key)"
export HOOKS_STATIC_CLIENTS="[{\"clientId\": \"dev-client\", \"accessToken\": \"$(cat .dev/access-token)\", \"scopes\": [\"*\"]}]"
export DATABASE_URL="${DATABASE_URL:-$(bash scripts/dev-db.sh url)}"
export HOOKS_LISTEN="${HOOKS_LISTEN:-127.0.0.1:8080}"
export RUST_LOG="${RUST_LOG:-info}"
# Each daemon needs a port of its own, so these are passed as flags rather than one HOOKS_METRICS_LISTEN.
SCHEDULER_METRICS="${SCHEDULER_METRICS:-127.0.0.1:9091}"
LISTENER_METRICS="${LISTENER_METRICS:-127.0.0.1:9092}"
unset TASKCLUSTER_ROOT_URL

echo "make run: database $DATABASE_URL (start afresh with: make reset-dev)"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM EXIT

# The api-server goes first: it creates the database, migrates it and loads the examples. --dev replaces an example
# hook whose secrets were sealed under a development key that is gone (.dev/ deleted), instead of stopping.
"$bin/hooks-api-server" --create-database --dev --load-hooks examples & pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://$HOOKS_LISTEN/api/hooks/v1/ping" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || exit 1
  sleep 0.5
done
"$bin/hooks-scheduler" --metrics-listen "$SCHEDULER_METRICS" & pids+=($!)
"$bin/hooks-pulse-listener" --metrics-listen "$LISTENER_METRICS" & pids+=($!)

cat <<MSG

hooks is running (Ctrl-C stops it):
  UI                   http://$HOOKS_LISTEN/ui/   (sign in with the client id and access token below)
  API                  http://$HOOKS_LISTEN/api/hooks/v1/ping
  TASKCLUSTER_ROOT_URL http://$HOOKS_LISTEN
  client id            dev-client
  access token         $(cat .dev/access-token)
  database             $DATABASE_URL
                       (tasks go to the embedded sink, table embedded_tasks; start afresh with: make reset-dev)

metrics (Prometheus) and health:
  api-server           http://$HOOKS_LISTEN/metrics          http://$HOOKS_LISTEN/__heartbeat__
  scheduler            http://$SCHEDULER_METRICS/metrics     http://$SCHEDULER_METRICS/__heartbeat__
  pulse-listener       http://$LISTENER_METRICS/metrics     http://$LISTENER_METRICS/__heartbeat__

MSG
wait
