# shellcheck shell=bash
# Helpers for DYNAMIC nodes of a local island (slurm/local/node-join.sh, node-leave.sh, island-down.sh).
# Source it after scripts/stack/lib.sh.
#
# Why network namespaces: on 22.05 slurmctld sends every RPC to a dynamic node (batch launch, ping,
# terminate) on the cluster-wide SlurmdPort, whatever Port= the node was created with (the RPC
# agent resolves dynamic nodes through slurm_reset_alias(), which stores port 0 = SlurmdPort). So
# several dynamic slurmd on one machine cannot differ by port; they differ by ADDRESS instead:
#
#   root netns:   bridge arch-br<i>  10.78.<i>.1/24          (i = island index)
#   netns arch-<island>-<node>:  eth0 10.78.<i>.<N>/24, N = 10..249, lo up
#                 veth: host side av<i>-<N> (enslaved to the bridge), netns side eth0
#   slurmd -Z -N <node> -f /etc/archipelago/islands/<island>/nodes/<node>/slurm.conf, listening on
#                 SlurmdPort (7818 + 10 i) inside its netns; that conf is the island's slurm.conf with
#                 SlurmctldHost=<host>(10.78.<i>.1) (127.0.0.1 inside the netns is the netns itself).
#
#                 (+ gres.conf beside it when the node declares --gres)
# Per-node state: /run/archipelago/islands/<island>/dyn/<node>.env (NODE NS ADDR VETH OCTET PORT).
# nsenter --net= only (not `ip netns exec`: it remounts /sys and slurmd loses /sys/fs/cgroup).

DYN_NODE_RE='^[a-z0-9][a-z0-9-]{0,39}$'

# dyn_island <island>: load the island's env file and derive the paths (dies if not set up)
dyn_island() {
  ISL=$1
  [[ $ISL =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$ISL'"
  ISL_ETC=$ARCH_ETC/islands/$ISL; ISL_LIB=$ARCH_LIB/islands/$ISL; ISL_LOG=$ARCH_LOG/islands/$ISL
  ISL_RUN=$ARCH_RUN/islands/$ISL; DYN_DIR=$ISL_RUN/dyn
  [ -r "$ISL_ETC/env" ] || die "island $ISL is not set up (no $ISL_ETC/env): run slurm/local/island-up.sh $ISL <index>"
  # shellcheck disable=SC1091
  . "$ISL_ETC/env"
  [ -n "${SLURMD_DYN_PORT:-}" ] && [ -n "${DYN_NET:-}" ] ||
    die "island $ISL was started by an island-up.sh without dynamic-node support: restart it (island-up.sh $ISL ${ISLAND_INDEX:-<index>})"
  # node-join.sh runs the host's slurmd in a network namespace: the 22.05 recipe, not a root's SLURM
  [ -z "${ISLAND_ROOT:-}" ] || die "island $ISL runs in the root $ISLAND_ROOT: dynamic nodes are supported on host islands only"
  export SLURM_CONF
}

dyn_ns() { echo "arch-$ISL-$1"; }
ctld_up() { pidfile_alive "$ISL_RUN/slurmctld.pid" slurmctld; }

# node_field <node> <Field>: one field of `scontrol show node` (empty if the node is unknown)
node_field() {
  { timeout 5 scontrol show node "$1" 2>/dev/null || true; } | tr ' ' '\n' | sed -n "s/^$2=//p" | sed -n 1p
}
# node_state <node>: e.g. "idle", "drained", "down*" (sinfo's %T, one line), empty if unknown
node_state() { { timeout 5 sinfo -h -N -n "$1" -o '%T' 2>/dev/null || true; } | sort -u | sed -n 1p; }
# node_jobs <node>: ids of jobs running / completing / suspended on the node
node_jobs() { { timeout 5 squeue -h -w "$1" -t R,CG,S,CF,SO,ST,RS -o %A 2>/dev/null || true; } | sort -u | tr '\n' ' ' | sed 's/ *$//'; }

# dyn_bridge_up: create the island's bridge with its gateway address (idempotent)
dyn_bridge_up() {
  if ! ip link show "$DYN_BRIDGE" >/dev/null 2>&1; then
    ip link add "$DYN_BRIDGE" type bridge || die "cannot create bridge $DYN_BRIDGE"
  fi
  ip -4 addr show dev "$DYN_BRIDGE" | grep -q "inet $DYN_GATEWAY/24" ||
    ip addr add "$DYN_GATEWAY/24" dev "$DYN_BRIDGE" || die "cannot add $DYN_GATEWAY/24 to $DYN_BRIDGE"
  ip link set "$DYN_BRIDGE" up
}

# dyn_bridge_gc: remove the island's bridge when no veth is attached any more
dyn_bridge_gc() {
  ip link show "$DYN_BRIDGE" >/dev/null 2>&1 || return 0
  [ -z "$(ip -o link show master "$DYN_BRIDGE" 2>/dev/null)" ] && ip link del "$DYN_BRIDGE" 2>/dev/null
  return 0
}

# dyn_cleanup_node <node> [stop_timeout]: stop everything left in the node's netns (slurmd,
# slurmstepd, job processes: all started for this node), delete the netns (and with it the veth),
# its state and per-node slurm.conf. The node's log is kept. Safe to call when nothing exists.
dyn_cleanup_node() {
  local node=$1 t=${2:-10} ns pids
  ns=$(dyn_ns "$node")
  if [ -e "/run/netns/$ns" ]; then
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${pids// }" ] && { log "stopping what is left in netns $ns: $pids"; stop_pids "$t" $pids || true; }
    ip netns del "$ns" 2>/dev/null || warn "could not delete netns $ns"
  fi
  if [ -s "$DYN_DIR/$node.env" ]; then
    local veth; veth=$(sed -n 's/^VETH=//p' "$DYN_DIR/$node.env")
    [ -n "$veth" ] && ip link del "$veth" 2>/dev/null || true
  fi
  rm -f "$DYN_DIR/$node.env" "$ISL_RUN/slurmd-$node.pid"; rm -rf "${ISL_ETC:?}/nodes/${node:?}" "${ISL_RUN:?}/dev/${node:?}"
  [ "${DYN_KEEP_SPOOL:-0}" = 1 ] || rm -rf "${ISL_LIB:?}/spool/${node:?}"
}
