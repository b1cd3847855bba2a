#!/usr/bin/env bash
# PostgreSQL for local dev/tests, started by hand (no systemd, no pg_ctlcluster): its own data dir,
# loopback only, trust auth. Creates the databases `archipelago` and `archipelago_test`.
#
#   usage: scripts/stack/pg-up.sh
#   env:   PGPORT=55432     TCP port on 127.0.0.1 (socket dir /tmp: /tmp/.s.PGSQL.<port>)
#          PGDATA=/var/lib/archipelago/pg
#          PG_FAST=1        fsync/synchronous_commit/full_page_writes off (tests only: a crash of
#                           the machine can corrupt the cluster)
#          TIME=30          seconds pg_ctl may wait for the server
#   connect: postgres://postgres@127.0.0.1:55432/archipelago   (DATABASE_URL's default)
#   log:     /var/log/archipelago/pg.log
# Idempotent: if the server of PGDATA is already running, says so and exits 0 (settings unchanged:
# to switch PG_FAST, run pg-down.sh first).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
LOG_TAG=pg-up
require_root
PGPORT=${PGPORT:-55432}; PGDATA=${PGDATA:-$ARCH_LIB/pg}; TMO=${TIME:-30}; LOGF=$ARCH_LOG/pg.log
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/pg_ctl" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL server binaries not found: run slurm/local/install.sh"
id postgres >/dev/null 2>&1 || die "user postgres missing"
as_pg() { runuser -u postgres -- "$@"; }
PSQL=(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -Atq)
t0=$(now_ms)

if [ -s "$PGDATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  log "already running (pid $(sed -n 1p "$PGDATA/postmaster.pid"), $PGDATA); nothing to do"
  started=0
else
  install -d -m 0755 "$ARCH_LIB" "$ARCH_LOG"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null \
      || die "initdb failed"
    log "initdb $PGDATA ($(since_ms "$t0") s)"
  fi
  v=$(cat "$PGDATA/PG_VERSION"); [ "$v" = "$("$PGBIN/postgres" -V | sed 's/.* \([0-9]*\)\..*/\1/')" ] \
    || die "$PGDATA is a PostgreSQL $v cluster but $PGBIN is another major version"
  port_in_use "$PGPORT" && die "port $PGPORT is in use by something else: $(ss -Hltnp "sport = :$PGPORT" | sed -n 1p)"
  touch "$LOGF"; chown postgres:postgres "$LOGF"
  OPTS="-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200"
  [ "${PG_FAST:-0}" = 1 ] && OPTS="$OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  t1=$(now_ms)
  # pg_ctl removes a stale postmaster.pid itself; -w -t: bounded wait until it accepts connections
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOGF" -w -t "$TMO" -o "$OPTS" start >/dev/null \
    || { show_log_tail "$LOGF"; die "postgres did not start within ${TMO}s"; }
  log "started on 127.0.0.1:$PGPORT in $(since_ms "$t1") s (fast=${PG_FAST:-0}, pid $(sed -n 1p "$PGDATA/postmaster.pid"))"
  started=1
fi

wait_for 10 "${PSQL[@]}" -c 'select 1' || die "postgres on 127.0.0.1:$PGPORT does not answer"
for db in archipelago archipelago_test; do
  if [ "$("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname='$db'")" != 1 ]; then
    "${PSQL[@]}" -d postgres -c "create database \"$db\"" && log "created database $db"
  fi
done
log "ok in $(since_ms "$t0") s"
echo "POSTGRES url=postgres://postgres@127.0.0.1:$PGPORT/archipelago test_url=postgres://postgres@127.0.0.1:$PGPORT/archipelago_test data=$PGDATA started=$started"
