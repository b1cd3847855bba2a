#!/usr/bin/env bash
# A dynamic node LEAVES a running local island: drain, wait for its jobs, stop slurmd, delete it.
#
#   usage: slurm/local/node-leave.sh <island> <node> [--timeout S] [--force] [--reason TEXT]
#     --timeout S   how long to wait for the node's jobs to finish after DRAIN (default 60)
#     --force       after the timeout, cancel the jobs still on the node (scancel, then State=DOWN
#                   if they do not go within 15 s) instead of giving up
#     --reason      drain reason (default "leaving")
#
# Order (22.05): scontrol update State=DRAIN -> no job R/CG/S on the node -> stop slurmd (pid file)
# -> scontrol delete NodeName=<node> -> netns, veth, per-node conf, spool removed (log kept).
# slurmd is stopped BEFORE the delete: a `slurmd -Z` that (re)registers after the delete re-creates
# the node. `scontrol delete` refuses a node with jobs (also COMPLETING ones):
#   "delete_node NodeName=<node>: Requested nodes are busy"
# A node whose slurmd is already gone (silent node) is set DOWN first (its jobs cannot finish).
# Idempotent: a node that is not (or no longer) in the island exits 0 after removing leftovers.
# Last line on stdout:  LEFT <node> island=<island> jobs_waited_ms=<ms> ms=<total ms>
# Exit: 0 left, 1 error, 2 usage, 3 timeout with jobs still running (without --force; node stays drained).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/dyn-lib.sh"
LOG_TAG="node-leave ${1:-?}/${2:-?}"
require_root

usage() { sed -n '4,8p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
ISLAND=$1; NODE=$2; shift 2
TMO=60; FORCE=0; REASON=leaving
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) TMO=${2:-}; shift 2 ;;
    --force) FORCE=1; shift ;;
    --reason) REASON=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown option '$1'" >&2; usage ;;
  esac
done
[[ $NODE =~ $DYN_NODE_RE ]] || die "bad node name '$NODE'"
[[ $TMO =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
[ -n "$REASON" ] || REASON=leaving

t0=$(now_ms)
dyn_island "$ISLAND"
# one join/leave of this node at a time (they serialize on the same lock)
install -d -o slurm -g slurm -m 0755 "$DYN_DIR"
exec 8>"$DYN_DIR/$NODE.lock"
flock -w 30 8 || die "another node-join/node-leave of $NODE holds $DYN_DIR/$NODE.lock (30 s)"
PIDF=$ISL_RUN/slurmd-$NODE.pid
slurmd_up() { pidfile_alive "$PIDF" slurmd; }
cleanup_local() { stop_pidfile "$PIDF" slurmd 10 || die "slurmd of $NODE survived SIGKILL"; dyn_cleanup_node "$NODE"; dyn_bridge_gc; }

if ! ctld_up; then
  # nothing to tell slurmctld; the record (if any) is gone with a fresh island-up or stays in its state
  warn "slurmctld of $ISL is not running: only stopping $NODE's slurmd and removing its netns"
  cleanup_local; echo "LEFT $NODE island=$ISL jobs_waited_ms=0 ms=$(( $(now_ms) - t0 ))"; exit 0
fi
state=$(node_field "$NODE" State)
if [ -z "$state" ]; then
  log "$NODE is not a node of $ISL (already left?): removing leftovers only"
  cleanup_local; echo "LEFT $NODE island=$ISL jobs_waited_ms=0 ms=$(( $(now_ms) - t0 ))"; exit 0
fi
[[ $state == *DYNAMIC* ]] || die "$NODE is a static node of $ISL (State=$state): it is in slurm.conf and cannot be deleted"

# ---- 1. drain (a silent node: DOWN, its jobs cannot complete) -----------------------------------
if slurmd_up; then
  timeout 10 scontrol update NodeName="$NODE" State=DRAIN Reason="$REASON" || die "could not drain $NODE"
  log "draining $NODE (was $state)"
else
  log "slurmd of $NODE is not running (State=$state): setting it DOWN"
  timeout 10 scontrol update NodeName="$NODE" State=DOWN Reason="$REASON (slurmd gone)" || die "could not set $NODE DOWN"
fi

# ---- 2. wait (bounded) for its jobs ---------------------------------------------------------------
t1=$(now_ms)
no_jobs() { [ -z "$(node_jobs "$NODE")" ]; }
if ! wait_while "$TMO" ctld_up no_jobs; then
  ctld_up || die "slurmctld of $ISL died while waiting"
  jobs=$(node_jobs "$NODE")
  if [ "$FORCE" != 1 ]; then
    warn "job(s) still on $NODE after ${TMO}s: $jobs; the node stays drained (new jobs will not start there)"
    echo "rerun with --force to cancel them, or with a longer --timeout" >&2
    exit 3
  fi
  log "--force: cancelling job(s) on $NODE: $jobs"
  # shellcheck disable=SC2086
  timeout 10 scancel $jobs 2>/dev/null || true
  if ! wait_while 15 ctld_up no_jobs; then
    warn "job(s) $(node_jobs "$NODE") still on $NODE 15 s after scancel: setting it DOWN"
    timeout 10 scontrol update NodeName="$NODE" State=DOWN Reason="$REASON (forced)" || true
    wait_while 10 ctld_up no_jobs || die "job(s) $(node_jobs "$NODE") still on $NODE even after State=DOWN"
  fi
fi
waited=$(( $(now_ms) - t1 ))

# ---- 3. stop slurmd, then delete the node -------------------------------------------------------
stop_pidfile "$PIDF" slurmd 10 || die "slurmd of $NODE survived SIGKILL"
deleted() { [ -z "$(node_field "$NODE" State)" ]; }
try_delete() { timeout 10 scontrol delete NodeName="$NODE" >/dev/null 2>&1; deleted; }
if ! wait_while 10 ctld_up try_delete; then
  # e.g. still COMPLETING on a node whose slurmd is gone: DOWN clears that, then delete
  timeout 10 scontrol update NodeName="$NODE" State=DOWN Reason="$REASON (delete)" >/dev/null 2>&1 || true
  out=$(timeout 10 scontrol delete NodeName="$NODE" 2>&1) || die "scontrol delete NodeName=$NODE failed: $out"
fi
dyn_cleanup_node "$NODE"; dyn_bridge_gc
# pending jobs that named this node (-w) stay PENDING "ReqNodeNotAvail, UnavailableNodes:<node>"
# forever (22.05 keeps ReqNodeList as text); they run again only if a node of that name rejoins
pinned=""
while read -r jid req; do
  [ -n "$req" ] && [ "$req" != "(null)" ] || continue
  if timeout 5 scontrol show hostnames "$req" 2>/dev/null | grep -qx "$NODE"; then pinned="$pinned $jid"; fi
done < <(timeout 5 squeue -h -t PD -o '%i %n' 2>/dev/null || true)
[ -z "$pinned" ] || warn "pending job(s) requesting $NODE explicitly stay pending until it rejoins (or scancel):$pinned"
log "left in $(since_ms "$t0") s (jobs waited $((waited / 1000)).$(printf '%03d' $((waited % 1000))) s)"
echo "LEFT $NODE island=$ISL jobs_waited_ms=$waited ms=$(( $(now_ms) - t0 ))"
