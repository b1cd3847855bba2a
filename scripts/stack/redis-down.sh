#!/usr/bin/env bash
# Stop the redis of scripts/stack/redis-up.sh by its pid file (SIGTERM, bounded wait, SIGKILL).
#   usage: scripts/stack/redis-down.sh
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
LOG_TAG=redis-down
require_root
PIDF=$ARCH_RUN/redis/redis.pid
t0=$(now_ms)
if pidfile_alive "$PIDF" redis-server; then
  stop_pidfile "$PIDF" redis-server 10 || die "redis survived SIGKILL"
  log "stopped in $(since_ms "$t0") s"
else
  rm -f "$PIDF"; log "not running"
fi
