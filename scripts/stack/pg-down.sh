#!/usr/bin/env bash
# Stop the PostgreSQL of scripts/stack/pg-up.sh (pg_ctl -m fast, bounded; -m immediate fallback).
#   usage: scripts/stack/pg-down.sh        env: PGDATA=/var/lib/archipelago/pg  TIME=20
# The data dir is kept (delete it yourself for a blank cluster: rm -rf /var/lib/archipelago/pg).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
LOG_TAG=pg-down
require_root
PGDATA=${PGDATA:-$ARCH_LIB/pg}; TMO=${TIME:-20}
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/pg_ctl" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { runuser -u postgres -- "$@"; }
t0=$(now_ms)
if [ ! -s "$PGDATA/PG_VERSION" ] || ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  log "not running"; exit 0
fi
pid=$(sed -n 1p "$PGDATA/postmaster.pid" 2>/dev/null || true)
if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t "$TMO" stop >/dev/null 2>&1; then
  warn "fast shutdown did not finish in ${TMO}s: immediate"
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
fi
# the postmaster may linger as a zombie until PID 1 reaps it; it is stopped either way
if [ -n "$pid" ] && alive "$pid" && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = postgres ]; then
  stop_pids 5 "$pid" || die "postgres $pid survived SIGKILL"
fi
log "stopped in $(since_ms "$t0") s"
