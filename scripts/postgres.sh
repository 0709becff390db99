#!/usr/bin/env bash
# Runs a throw-away PostgreSQL for the test suite on a loopback port and prints
# its admin URL. Installs Debian's postgresql when no server binaries exist.
# Usage: scripts/postgres.sh start|fresh|stop   (PGDIR and PGPORT may be overridden)
#   start  starts the server in PGDIR (creating the cluster when missing)
#   fresh  throws PGDIR away and starts a new cluster (what the test command uses,
#          so a data directory left by an earlier run on another machine image,
#          with other owners or permissions, can never stop the suite)
#   stop   stops it
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

root() { [ "$(id -u)" = 0 ]; }

# PostgreSQL refuses to run as root; use the postgres system user when we are root.
as_pg() {
  if root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres user must own PGDIR and reach it through its parents (HOME is often
# 0700). Done on every start, not only at creation: a restored cache keeps the
# directory but not necessarily its owner or the parents' modes.
grant_access() {
  root || return 0
  chown -R postgres "$PGDIR"
  chmod 700 "$PGDIR"
  local d
  d=$(dirname "$PGDIR")
  while [ "$d" != / ]; do
    chmod o+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
  done
}

create() {
  rm -rf "$PGDIR"
  mkdir -p "$PGDIR"
  grant_access
  as_pg "$BIN/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 >/dev/null
}

running() { as_pg "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; }

launch() {
  # The socket lives in PGDIR, so nothing is left behind in /tmp by a killed run.
  as_pg "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
    start >/dev/null
}

show_log() {
  echo "[postgres] server did not start; last lines of $PGDIR/server.log:" >&2
  tail -n 20 "$PGDIR/server.log" >&2 2>/dev/null || true
}

start() {
  [ -f "$PGDIR/PG_VERSION" ] || create
  running && return 0
  grant_access
  launch && return 0
  show_log
  # A cluster we cannot start (other server version, damaged files) is thrown away:
  # it only ever holds test databases.
  echo "[postgres] creating a new cluster in $PGDIR" >&2
  as_pg "$BIN/pg_ctl" -D "$PGDIR" -m immediate stop >/dev/null 2>&1 || true
  create
  launch || { show_log; exit 1; }
}

case "${1:-start}" in
  start)
    mkdir -p "$(dirname "$PGDIR")"
    start
    echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  fresh)
    mkdir -p "$(dirname "$PGDIR")"
    if [ -f "$PGDIR/PG_VERSION" ]; then
      as_pg "$BIN/pg_ctl" -D "$PGDIR" -m immediate stop >/dev/null 2>&1 || true
    fi
    create
    start
    echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  stop)
    [ -f "$PGDIR/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|fresh|stop" >&2; exit 2 ;;
esac
