#!/usr/bin/env bash
# Makes sure the local PostgreSQL and RabbitMQ this project's tests and `make run` use are up, starting them
# when they are down (as on a fresh machine or in CI), and that Debian's headless Chromium and its WebDriver, which
# the UI's browser tests (crates/api-server/tests/ui.rs) drive, are installed.
set -euo pipefail

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  echo "services: installing chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium chromium-driver >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
fi

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! rabbit_up; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
fi

for _ in $(seq 1 60); do
  if pg_up && rabbit_up; then
    exit 0
  fi
  sleep 1
done
pg_up || echo "services: PostgreSQL is not answering on 127.0.0.1:5432" >&2
rabbit_up || echo "services: RabbitMQ is not answering on 127.0.0.1:5672" >&2
exit 1
