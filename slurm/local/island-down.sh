#!/usr/bin/env bash
# Stop one local SLURM island started by slurm/local/island-up.sh.
#
#   usage: slurm/local/island-down.sh <name>
#   env:   KEEP_STATE=1   do not cancel the island's jobs first (they survive in the saved state;
#                         running ones keep running under their slurmstepd until they end)
#          STOP_TIMEOUT=10  seconds to wait after SIGTERM before SIGKILL (per group of daemons)
#
# Daemons are found ONLY through the island's pid files in /run/archipelago/islands/<name>/
# (never by name: other islands and a system slurm may run the same programs), and a pid is only
# signalled if /proc/<pid>/comm is the expected program (a stale pid file may name a recycled pid).
# Order: slurmrestd, then all slurmd at once, then slurmctld (it saves its state on SIGTERM).
# Zombies (PID 1 reaps late) count as stopped. munged is shared and left running.
# Exit 0 when nothing of the island is left running (also when it was not running at all).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
LOG_TAG="island-down ${1:-?}"
require_root
[ $# -eq 1 ] || { sed -n '3,3p' "$0" >&2; exit 2; }
NAME=$1
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$NAME'"
RUN=$ARCH_RUN/islands/$NAME; CONF=$ARCH_ETC/islands/$NAME/slurm.conf
T=${STOP_TIMEOUT:-10}
t0=$(now_ms)
[ -d "$RUN" ] || { log "not running (no $RUN)"; exit 0; }
export SLURM_CONF=$CONF

# 1. cancel the island's jobs (so no slurmstepd/job processes outlive the island)
if [ "${KEEP_STATE:-0}" != 1 ] && pidfile_alive "$RUN/slurmctld.pid" slurmctld && [ -r "$CONF" ]; then
  jobs=$(timeout 5 squeue -h -t PD,R,CG,S,CF,RQ,RS,RH,SO,ST -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
  if [ -n "${jobs// }" ]; then
    log "cancelling job(s): $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    no_running() { [ -z "$(timeout 5 squeue -h -t R,CG -o %A 2>/dev/null)" ]; }
    wait_for 10 no_running || warn "jobs still running/completing after 10 s: stopping anyway"
  fi
fi

rc=0
# 2. slurmrestd
stop_pidfile "$RUN/slurmrestd.pid" slurmrestd "$T" || rc=1
# 3. every slurmd of the island at once
pids=(); files=()
for f in "$RUN"/slurmd-*.pid; do
  [ -e "$f" ] || continue
  p=$(read_pidfile "$f")
  if [ -n "$p" ] && pid_is "$p" slurmd; then pids+=("$p"); files+=("$f")
  else
    [ -n "$p" ] && alive "$p" && warn "$f names pid $p which is not slurmd: left alone"
    rm -f "$f"
  fi
done
if [ ${#pids[@]} -gt 0 ]; then
  log "stopping ${#pids[@]} slurmd (${pids[*]})"
  if stop_pids "$T" "${pids[@]}"; then rm -f "${files[@]}"; else rc=1; fi
fi
# 4. slurmctld last (saves state on SIGTERM; can take ~2 s)
stop_pidfile "$RUN/slurmctld.pid" slurmctld "$T" || rc=1

[ "$rc" = 0 ] || die "some daemons of $NAME survived SIGKILL"
log "stopped in $(since_ms "$t0") s"
