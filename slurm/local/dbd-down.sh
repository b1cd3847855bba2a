#!/usr/bin/env bash
# Stop the slurmdbd of one island (slurm/local/dbd-up.sh), by its pid file only.
#   usage: slurm/local/dbd-down.sh <island>
#   env:   STOP_MARIADB=1  also stop the shared MariaDB, but only when no island's slurmdbd is left
# Stop slurmctld first (island-down.sh does): a slurmctld that outlives its slurmdbd queues the
# accounting messages in its state directory and sends them when slurmdbd is back.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/stack/lib.sh"
LOG_TAG="dbd-down ${1:-?}"
require_root
[ $# -eq 1 ] || { sed -n '3,3p' "$0" >&2; exit 2; }
NAME=$1
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$NAME'"
stop_pidfile "$ARCH_RUN/islands/$NAME/slurmdbd.pid" slurmdbd "${STOP_TIMEOUT:-10}" || die "slurmdbd of $NAME survived SIGKILL"
if [ "${STOP_MARIADB:-0}" = 1 ]; then
  for f in "$ARCH_RUN"/islands/*/slurmdbd.pid; do
    [ -e "$f" ] && pidfile_alive "$f" slurmdbd && { log "MariaDB kept: $f is still running"; exit 0; }
  done
  stop_pidfile "$ARCH_RUN/mariadb/mariadbd.pid" mariadbd 20 || die "MariaDB survived SIGKILL"
fi
log "done"
