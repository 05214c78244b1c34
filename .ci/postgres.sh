#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the tests, as an unprivileged user, on a local port.
# Usage: source .ci/postgres.sh   (exports STUDYBOT_TEST_DATABASE; call pg_stop_test_cluster at the end)
# Installs Debian's postgresql when initdb is missing.
set -euo pipefail
PG_PORT=${PG_PORT:-55432}
if ! command -v initdb >/dev/null 2>&1; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pgbin" ]; then
    echo "== installing postgresql (Debian package)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  export PATH="$pgbin:$PATH"
fi
PG_DIR=$(mktemp -d /tmp/studybot-pg.XXXXXX)
PG_USER=$(id -un)
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: run the cluster as an unprivileged system user.
  PG_USER=${PG_RUN_AS:-postgres}
  id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_USER"
  chown "$PG_USER" "$PG_DIR"
  as_pg() { su "$PG_USER" -s /bin/sh -c "$*"; }
else
  as_pg() { sh -c "$*"; }
fi
as_pg "initdb -D '$PG_DIR/data' -U studybot --auth=trust -E UTF8 >/dev/null"
as_pg "pg_ctl -D '$PG_DIR/data' -l '$PG_DIR/log' -o \"-p $PG_PORT -k '$PG_DIR' -c listen_addresses=127.0.0.1 -c fsync=off\" -w start >/dev/null"
as_pg "createdb -h 127.0.0.1 -p $PG_PORT -U studybot studybot_test"
export STUDYBOT_TEST_DATABASE="postgresql://studybot@127.0.0.1:$PG_PORT/studybot_test"
pg_stop_test_cluster() { as_pg "pg_ctl -D '$PG_DIR/data' -m fast stop >/dev/null" || true; rm -rf "$PG_DIR"; }
echo "== PostgreSQL $(as_pg "postgres --version" | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)"
set +e +u +o pipefail
