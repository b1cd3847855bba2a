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
# Order: slurmrestd, then all slurmd at once (static and dynamic), the dynamic nodes' network
# namespaces and bridge (slurm/local/dyn-lib.sh), then slurmctld (it saves its state on SIGTERM).
# Zombies (PID 1 reaps late) count as stopped. munged is shared and left running.
# An island in a root (island-up.sh ISLAND_ROOT=...) runs its Slurm commands there, and loses its
# sshd, munged and mount namespace last: every process still in that namespace is stopped, so with
# KEEP_STATE=1 its queue survives but the processes of running jobs do not.
# Exit 0 when nothing of the island is left running (also when it was not running at all).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
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
ROOT=$(sed -n 's/^ISLAND_ROOT=//p' "$ARCH_ETC/islands/$NAME/env" 2>/dev/null || true)
island_runtime_of "$NAME" || IN_ROOT=()   # a root whose namespace is gone: no Slurm command can run

# 1. cancel the island's jobs (so no slurmstepd/job processes outlive the island)
if [ "${KEEP_STATE:-0}" != 1 ] && [ ${#IN_ROOT[@]} -gt 0 ] && pidfile_alive "$RUN/slurmctld.pid" slurmctld && [ -r "$CONF" ]; then
  jobs=$(timeout 5 "${IN_ROOT[@]}" squeue -h -t PD,R,CG,S,CF,RQ,RS,RH,SO,ST -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
  if [ -n "${jobs// }" ]; then
    log "cancelling job(s): $jobs"
    # shellcheck disable=SC2086
    timeout 10 "${IN_ROOT[@]}" scancel $jobs 2>/dev/null || true
    no_running() { [ -z "$(timeout 5 "${IN_ROOT[@]}" squeue -h -t R,CG -o %A 2>/dev/null)" ]; }
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
# 3b. dynamic nodes (slurm/local/node-join.sh): their slurmd went with the others above (same pid
# file directory); remove their network namespaces (stopping what is left in them: slurmstepd and
# job processes of those nodes do not survive, even with KEEP_STATE=1) and the island's bridge.
if compgen -G "$RUN/dyn/*.env" >/dev/null || { [ -r "$ARCH_ETC/islands/$NAME/env" ] && grep -q '^DYN_BRIDGE=' "$ARCH_ETC/islands/$NAME/env"; }; then
  . "$HERE/dyn-lib.sh"
  ISL=$NAME; ISL_ETC=$ARCH_ETC/islands/$NAME; ISL_LIB=$ARCH_LIB/islands/$NAME; ISL_RUN=$RUN; DYN_DIR=$RUN/dyn
  DYN_BRIDGE=$(sed -n 's/^DYN_BRIDGE=//p' "$ISL_ETC/env" 2>/dev/null || true)
  for f in "$DYN_DIR"/*.env; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .env); log "removing dynamic node $n (netns $(dyn_ns "$n"))"
    DYN_KEEP_SPOOL=${KEEP_STATE:-0} dyn_cleanup_node "$n" "$T" || rc=1
  done
  [ -n "$DYN_BRIDGE" ] && dyn_bridge_gc
fi
# 4. slurmctld last (saves state on SIGTERM; can take ~2 s)
stop_pidfile "$RUN/slurmctld.pid" slurmctld "$T" || rc=1
# 5. the island's slurmdbd (ACCOUNTING=1), after slurmctld so its last accounting messages land
[ -e "$RUN/slurmdbd.pid" ] && { "$HERE/dbd-down.sh" "$NAME" || rc=1; }
# 6. an island in a root: its sshd, then whatever is left in its namespace (munged, job processes)
if [ -n "$ROOT" ] || [ -e "$RUN/ns.pid" ]; then
  stop_pidfile "$RUN/sshd.pid" sshd "$T" || rc=1
  island_ns_stop "$RUN/ns.pid" "$T" || rc=1
fi

[ "$rc" = 0 ] || die "some daemons of $NAME survived SIGKILL"
log "stopped in $(since_ms "$t0") s"
