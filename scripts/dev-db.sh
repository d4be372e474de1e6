#!/usr/bin/env bash
# The development database of this checkout (`make run`): `dev-db.sh name|url|reset`.
# Named from the checkout's absolute path, so every clone on a machine has its own and none touches another's.
# `reset` drops it and forgets .dev/ (the development key and client): the next `make run` starts afresh.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(pwd -P)
base=$(basename "$root" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z' | cut -c1-24)
name="hooks_dev_${base}_$(printf '%s' "$root" | sha256sum | cut -c1-8)"

case "${1:-name}" in
  name) echo "$name" ;;
  url) echo "postgres://postgres@127.0.0.1:5432/$name" ;;
  reset)
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" postgres
    rm -rf .dev
    echo "dropped database $name and removed .dev/; the next make run starts afresh"
    ;;
  *) echo "usage: $0 name|url|reset" >&2; exit 2 ;;
esac
