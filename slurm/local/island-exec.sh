#!/usr/bin/env bash
# Run a command where an island's SLURM lives, with the island's SLURM_CONF: on the host, or inside the
# island's Debian root and mount namespace (islands started with ISLAND_ROOT=...).
#
#   usage: slurm/local/island-exec.sh [-u <user>] <island> <command> [args...]
#     -u <user>   run as that user, in their home directory (sbatch's default working directory)
#   e.g.   slurm/local/island-exec.sh local-c sinfo
#          slurm/local/island-exec.sh -u alice local-c sbatch --parsable --wrap 'hostname'
#          slurm/local/island-exec.sh local-c scontrol token username=alice lifespan=60
# The command's exit status is this script's.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
LOG_TAG=island-exec
require_root
AS=""
if [ "${1:-}" = -u ]; then AS=${2:?-u needs a user}; shift 2; fi
[ $# -ge 2 ] || { sed -n '5,6p' "$0" >&2; exit 2; }
NAME=$1; shift
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$NAME'"
[ -r "$ARCH_ETC/islands/$NAME/env" ] || die "no island $NAME (no $ARCH_ETC/islands/$NAME/env)"
export SLURM_CONF=$ARCH_ETC/islands/$NAME/slurm.conf
island_runtime_of "$NAME" || die "island $NAME runs in a root whose namespace is not up (island-up.sh)"
if [ -n "$AS" ]; then
  # shellcheck disable=SC2016
  exec "${IN_ROOT[@]}" runuser -u "$AS" -- sh -c 'cd "$HOME" && exec "$@"' _ "$@"
fi
exec "${IN_ROOT[@]}" "$@"
