#!/usr/bin/env bash
# A provider node JOINS a running local island at runtime (Slurm 22.05 dynamic node), without
# restarting slurmctld.
#
#   usage: slurm/local/node-join.sh <island> <node> [--cpus N] [--mem MB] [--features a,b] [--gres SPEC] [--timeout S]
#     <island>      a running island (slurm/local/island-up.sh), e.g. local-a
#     <node>        Slurm NodeName: lowercase letters, digits, dashes (max 40); unique in the island
#     --cpus N      CPUs= (default 2; may exceed the real cores: SlurmdParameters=config_overrides)
#     --mem MB      RealMemory= (default 1000)
#     --features    Feature= list (comma-separated), e.g. provider names, gpu, zone tags
#     --gres SPEC   Gres= (e.g. gpu:2); the island needs GresTypes (island-up.sh env GRES_TYPES=gpu)
#     --timeout S   how long to wait for the node to be idle (default 20)
#   env: KEEP_ON_FAILURE=1  leave slurmd/netns in place when the join fails (default: undo it)
#
# What it does (details: slurm/local/dyn-lib.sh): a network namespace with its own address
# 10.78.<i>.N on the island's bridge, a per-node copy of slurm.conf that reaches slurmctld at
# 10.78.<i>.1, then `slurmd -Z -N <node> --conf "CPUs=.. RealMemory=.. Feature=.. Gres=.."` in that
# netns; slurmctld adds the node on its first registration (partitions debug/short are Nodes=ALL).
# Idempotent: a node already joined and healthy is left alone; a node whose slurmd died is restarted.
# Last line on stdout, machine-readable:
#   NODE <node> island=<island> port=<SlurmdPort> pid=<slurmd pid> addr=<address> state=<sinfo state> ms=<join time>
# Exit: 0 joined (or already joined), 1 error, 2 usage.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/dyn-lib.sh"
LOG_TAG="node-join ${1:-?}/${2:-?}"
require_root

usage() { sed -n '5,13p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
ISLAND=$1; NODE=$2; shift 2
CPUS=2; MEM=1000; FEATURES=""; GRES=""; TMO=20
while [ $# -gt 0 ]; do
  case $1 in
    --cpus) CPUS=${2:-}; shift 2 ;;
    --mem) MEM=${2:-}; shift 2 ;;
    --features) FEATURES=${2:-}; shift 2 ;;
    --gres) GRES=${2:-}; shift 2 ;;
    --timeout) TMO=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown option '$1'" >&2; usage ;;
  esac
done
[[ $NODE =~ $DYN_NODE_RE ]] || die "bad node name '$NODE' (lowercase letters, digits, dashes; max 40)"
[[ $CPUS =~ ^[1-9][0-9]{0,3}$ ]] || die "--cpus must be 1..9999"
[[ $MEM =~ ^[1-9][0-9]{0,8}$ ]] || die "--mem must be a positive number of MB"
[[ $FEATURES =~ ^[A-Za-z0-9_.,-]*$ ]] || die "--features: comma-separated names (letters, digits, _ . -)"
[[ $GRES =~ ^[A-Za-z0-9_.,:-]*$ ]] || die "--gres: e.g. gpu:2 or gpu:a100:2,nic:1"
[[ $TMO =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"

t0=$(now_ms)
dyn_island "$ISLAND"
# one join/leave of this node at a time (they serialize on the same lock)
install -d -o slurm -g slurm -m 0755 "$DYN_DIR"
exec 8>"$DYN_DIR/$NODE.lock"
flock -w 30 8 || die "another node-join/node-leave of $NODE holds $DYN_DIR/$NODE.lock (30 s)"
ctld_up || die "slurmctld of $ISLAND is not running (pid file $ISL_RUN/slurmctld.pid)"
[[ $NODE =~ ^${ISL}-n[0-9]+$ ]] && die "'$NODE' is a static node name of $ISL (<island>-nK): pick another"
# 22.05 silently drops a Gres= whose type is not in GresTypes (the node joins without it)
if [ -n "$GRES" ]; then
  gtypes=",$(sed -n 's/^GresTypes=//p' "$SLURM_CONF" | sed -n 1p),"
  for g in ${GRES//,/ }; do
    [[ $gtypes == *",${g%%:*},"* ]] || die "--gres $g: type '${g%%:*}' is not in the island's GresTypes ('${gtypes//,/ }'): restart the island with GRES_TYPES=${g%%:*}"
  done
fi
NS=$(dyn_ns "$NODE"); PIDF=$ISL_RUN/slurmd-$NODE.pid; NDIR=$ISL_ETC/nodes/$NODE; NCONF=$NDIR/slurm.conf
STATEF=$DYN_DIR/$NODE.env; NLOG=$ISL_LOG/slurmd-$NODE.log
install -d -m 0755 "$ISL_ETC/nodes" "$NDIR"

emit() {  # the machine-readable result line
  local st; st=$(node_state "$NODE")
  echo "NODE $NODE island=$ISL port=$SLURMD_DYN_PORT pid=$(read_pidfile "$PIDF") addr=$(sed -n 's/^ADDR=//p' "$STATEF") state=${st:-unknown} ms=$(( $(now_ms) - t0 ))"
}
ready() { case $(node_state "$NODE") in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac; }
slurmd_up() { pidfile_alive "$PIDF" slurmd; }

# ---- 0. already joined? ------------------------------------------------------------------------
if slurmd_up && [ -s "$STATEF" ] && ready; then
  log "already joined ($(node_state "$NODE")); requested options are not re-applied (leave + join to change them)"
  emit; exit 0
fi
# the name must not be a static node (slurm.conf) or a node somebody else runs
nstate=$(node_field "$NODE" State)
if [ -n "$nstate" ] && [[ $nstate != *DYNAMIC* ]]; then die "$NODE is a static node of $ISL (State=$nstate)"; fi
if slurmd_up; then   # slurmd alive but node not ready (e.g. drained): report, do not touch
  die "slurmd of $NODE is running but the node is '$(node_state "$NODE")' (drained? use node-leave.sh, or scontrol update State=RESUME)"
fi

# ---- 1. a stale record of this node (slurmd gone): drop it so the new options apply -------------
if [ -n "$nstate" ]; then
  jobs=$(node_jobs "$NODE")
  if [ -z "$jobs" ]; then
    log "dropping the old record of $NODE (State=$nstate) so it is re-created with the new options"
    timeout 10 scontrol delete NodeName="$NODE" >/dev/null 2>&1 || {
      timeout 5 scontrol update NodeName="$NODE" State=DOWN Reason="node-join: re-create" >/dev/null 2>&1 || true
      timeout 10 scontrol delete NodeName="$NODE" || die "cannot delete the old record of $NODE"; }
  else
    warn "$NODE is still known with job(s) $jobs: keeping its record (and its old CPUs/memory/features), restarting slurmd"
  fi
fi

# ---- 2. address + netns (under a lock: several joins may run at once) --------------------------
exec 9>"$DYN_DIR/.lock"
flock -w 20 9 || die "could not lock $DYN_DIR/.lock within 20 s"
if [ -s "$STATEF" ]; then
  OCTET=$(sed -n 's/^OCTET=//p' "$STATEF")
else
  used=" $({ cat "$DYN_DIR"/*.env 2>/dev/null || true; } | sed -n 's/^OCTET=//p' | tr '\n' ' ') "
  # prefer the address slurmctld still has for this node (jobs kept across a slurmd restart)
  old=$(node_field "$NODE" NodeAddr)
  OCTET=""
  if [[ $old == "$DYN_NET".* ]] && [[ $used != *" ${old##*.} "* ]]; then OCTET=${old##*.}; fi
  if [ -z "$OCTET" ]; then
    for n in $(seq 10 $((9 + DYN_MAX))); do [[ $used == *" $n "* ]] || { OCTET=$n; break; }; done
  fi
  [ -n "$OCTET" ] || die "island $ISL is full: $DYN_MAX dynamic nodes (island-up.sh env DYN_NODES)"
fi
ADDR=$DYN_NET.$OCTET; VETH=av$ISLAND_INDEX-$OCTET
cat >"$STATEF" <<EOF
NODE=$NODE
NS=$NS
ADDR=$ADDR
OCTET=$OCTET
VETH=$VETH
PORT=$SLURMD_DYN_PORT
EOF
dyn_bridge_up
[ -e "/run/netns/$NS" ] || ip netns add "$NS" || die "cannot create netns $NS"
if ! ip -n "$NS" link show eth0 >/dev/null 2>&1; then
  ip link del "$VETH" 2>/dev/null || true
  ip link add "$VETH" type veth peer name eth0 netns "$NS" || die "cannot create veth $VETH"
fi
ip link set "$VETH" master "$DYN_BRIDGE" up
ip -n "$NS" -4 addr show dev eth0 | grep -q "inet $ADDR/24" || ip -n "$NS" addr add "$ADDR/24" dev eth0
ip -n "$NS" link set lo up; ip -n "$NS" link set eth0 up
flock -u 9

# ---- 3. per-node slurm.conf: the island's, but slurmctld is reached through the bridge ----------
sed "s/^SlurmctldHost=.*/SlurmctldHost=${SLURMCTLD_HOST}(${DYN_GATEWAY})/" "$SLURM_CONF" >"$NCONF.tmp"
grep -q "^SlurmctldHost=${SLURMCTLD_HOST}(${DYN_GATEWAY})\$" "$NCONF.tmp" || die "could not rewrite SlurmctldHost in $NCONF"
mv -f "$NCONF.tmp" "$NCONF"; chmod 0644 "$NCONF"
# GRES: slurmd counts them from gres.conf beside its slurm.conf. 22.05 drops a GPU without File=
# ("Removing file-less GPU gpu:(null) from final GRES list", slurmd -vvv) and slurmctld then sets the
# node INVAL: "gres/gpu count reported lower than configured (0 < 2)". So each GPU gets a fake device
# node (a /dev/null clone, c 1 3; a regular file is refused: "... is not a valid character or block
# device") under /run/archipelago/islands/<island>/dev/<node>/. Other GRES types: Count= only.
rm -f "$NDIR/gres.conf"; rm -rf "${ISL_RUN:?}/dev/${NODE:?}"
if [ -n "$GRES" ]; then
  for g in ${GRES//,/ }; do
    IFS=: read -r gname gtype gcount <<<"$g"
    [ -z "$gcount" ] && { gcount=$gtype; gtype=""; }
    [[ $gcount =~ ^[1-9][0-9]{0,2}$ ]] || die "--gres $g: expected name[:type]:count (count 1..999)"
    if [ "$gname" = gpu ]; then
      ddir=$ISL_RUN/dev/$NODE; install -d -m 0755 "$ddir"
      for ((k = 0; k < gcount; k++)); do f=$ddir/$gname${gtype:+-$gtype}$k; [ -e "$f" ] || mknod -m 0666 "$f" c 1 3; done
      echo "Name=$gname${gtype:+ Type=$gtype} File=$ddir/$gname${gtype:+-$gtype}[0-$((gcount - 1))]"
    else
      echo "Name=$gname${gtype:+ Type=$gtype} Count=$gcount"
    fi
  done >"$NDIR/gres.conf"
  chmod 0644 "$NDIR/gres.conf"
fi
install -d -m 0755 "$ISL_LIB/spool/$NODE"

# ---- 4. slurmd -Z in the netns ------------------------------------------------------------------
DCONF="CPUs=$CPUS RealMemory=$MEM${FEATURES:+ Feature=$FEATURES}${GRES:+ Gres=$GRES}"
undo() {
  if [ "${KEEP_ON_FAILURE:-0}" != 1 ]; then
    stop_pidfile "$PIDF" slurmd 5 >/dev/null 2>&1 || true
    [ -n "$(node_jobs "$NODE")" ] || timeout 10 scontrol delete NodeName="$NODE" >/dev/null 2>&1 || true
    dyn_cleanup_node "$NODE" 5 >/dev/null 2>&1 || true; dyn_bridge_gc
  fi
}
fail() { local msg=$1; shift; local f; for f in "$@"; do show_log_tail "$f"; done; undo; die "$msg"; }
ctld_lines=$(wc -l <"$ISL_LOG/slurmctld.log" 2>/dev/null || echo 0)
raise_nofile
log "starting slurmd -Z -N $NODE in netns $NS ($ADDR:$SLURMD_DYN_PORT) --conf \"$DCONF\""
nsenter --net="/run/netns/$NS" -- slurmd -f "$NCONF" -Z -N "$NODE" --conf "$DCONF" </dev/null >>"$ISL_LOG/slurmd.stdout" 2>&1 ||
  fail "slurmd for $NODE failed to start" "$NLOG" "$ISL_LOG/slurmd.stdout"

# ---- 5. wait (bounded) until slurmctld has the node and it is idle --------------------------------
# give up early: slurmctld or slurmd died, or slurmctld refused the registration (INVAL)
alive_guard() { ctld_up || return 1; [ -s "$PIDF" ] && ! slurmd_up && return 1; [[ $(node_state "$NODE") != inval* ]]; }
if ! wait_while "$TMO" alive_guard ready; then
  why=$(tail -n +"$((ctld_lines + 1))" "$ISL_LOG/slurmctld.log" 2>/dev/null | grep -F "$NODE" | grep -Ei 'error|full|fail' | tail -3 || true)
  [ -n "$why" ] && printf 'slurmctld says:\n%s\n' "$why" >&2
  fail "node $NODE not idle (waited at most ${TMO}s; state '$(node_state "$NODE")', reason '$(node_field "$NODE" Reason)'; slurmd $(slurmd_up && echo alive || echo dead))" "$NLOG"
fi
log "joined in $(since_ms "$t0") s"
emit
