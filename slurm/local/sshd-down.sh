#!/usr/bin/env bash
# Stop the sshd started by slurm/local/sshd-up.sh (by its pid file only). Sessions already open
# stay up until they end, as with any sshd. Keys, fingerprint and config are kept.
#   usage: slurm/local/sshd-down.sh
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/stack/lib.sh"
LOG_TAG=sshd-down
require_root
t0=$(now_ms)
if pidfile_alive "$ARCH_RUN/sshd.pid" sshd; then
  stop_pidfile "$ARCH_RUN/sshd.pid" sshd 5 || die "sshd survived SIGKILL"
  log "stopped in $(since_ms "$t0") s"
else
  rm -f "$ARCH_RUN/sshd.pid"; log "not running"
fi
