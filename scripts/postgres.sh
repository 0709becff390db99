#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the test suite on a loopback port and prints
# its admin URL. Installs Debian's postgresql when no server binaries exist.
# Usage: scripts/postgres.sh start|stop   (PGDIR and PGPORT may be overridden)
set -euo pipefail
PGPORT=${PGPORT:-55432}
PGDIR=${PGDIR:-${HOME}/.cache/switchboard/pgdata}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  return 1
}

if ! BIN=$(pg_bin); then
  echo "[postgres] installing Debian's postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  BIN=$(pg_bin)
fi

# PostgreSQL refuses to run as root; use the postgres system user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    mkdir -p "$(dirname "$PGDIR")"
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
      rm -rf "$PGDIR"; mkdir -p "$PGDIR"
      [ "$(id -u)" = 0 ] && chown postgres "$PGDIR" && chmod 700 "$PGDIR"
      # Reach the parent dirs as the postgres user (HOME may be 0700).
      [ "$(id -u)" = 0 ] && chmod o+x "$(dirname "$PGDIR")" "$(dirname "$(dirname "$PGDIR")")" "$HOME" 2>/dev/null || true
      as_pg "$BIN/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w \
        -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
