#!/usr/bin/env bash
# redis-server for local dev/tests: 127.0.0.1 only, no persistence by default, daemonized, runs as
# user redis.
#   usage: scripts/stack/redis-up.sh
#   env:   REDIS_PORT=56379   REDIS_PERSIST=1 (RDB snapshots + AOF in /var/lib/archipelago/redis)
#          TIME=10 (seconds to wait for PONG)
#   pid: /run/archipelago/redis/redis.pid   log: /var/log/archipelago/redis.log
#   connect: redis://127.0.0.1:56379   (REDIS_URL's default)
# Idempotent: if our redis already answers on that port, says so and exits 0.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
LOG_TAG=redis-up
require_root
PORT=${REDIS_PORT:-56379}; TMO=${TIME:-10}
RUND=$ARCH_RUN/redis; PIDF=$RUND/redis.pid; LOGF=$ARCH_LOG/redis.log; DATA=$ARCH_LIB/redis
command -v redis-server >/dev/null || die "redis-server missing: run slurm/local/install.sh"
ping_ok() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; }
t0=$(now_ms)
if pidfile_alive "$PIDF" redis-server; then
  ping_ok || die "redis pid $(read_pidfile "$PIDF") is running but does not answer on $PORT"
  log "already running (pid $(read_pidfile "$PIDF"), port $PORT); nothing to do"
  echo "REDIS url=redis://127.0.0.1:$PORT started=0"; exit 0
fi
rm -f "$PIDF"
port_in_use "$PORT" && die "port $PORT is in use by something else: $(ss -Hltnp "sport = :$PORT" | sed -n 1p)"
id redis >/dev/null 2>&1 || die "user redis missing"
install -d -m 0755 "$ARCH_RUN" "$ARCH_LIB" "$ARCH_LOG"
install -d -o redis -g redis -m 0755 "$RUND"
install -d -o redis -g redis -m 0750 "$DATA"
touch "$LOGF"; chown redis:redis "$LOGF"
if [ "${REDIS_PERSIST:-0}" = 1 ]; then PERSIST=(--save "3600 1 300 100 60 10000" --appendonly yes)
else PERSIST=(--save "" --appendonly no); fi
runuser -u redis -- redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
  "${PERSIST[@]}" --dir "$DATA" --daemonize yes --pidfile "$PIDF" --logfile "$LOGF" \
  </dev/null >/dev/null 2>&1 || { show_log_tail "$LOGF"; die "redis-server failed to start"; }
wait_for "$TMO" ping_ok || { show_log_tail "$LOGF"; die "redis did not answer PING on $PORT within ${TMO}s"; }
wait_for 2 test -s "$PIDF" || true
log "up on 127.0.0.1:$PORT (pid $(read_pidfile "$PIDF"), persist=${REDIS_PERSIST:-0}) in $(since_ms "$t0") s"
echo "REDIS url=redis://127.0.0.1:$PORT started=1"
