#!/bin/sh
# Runs slurmd (the pod's args) and, once it has stopped, deletes the dynamic node from the island so its
# NodeName is free for the next registration. The drain before a pod goes away happens in the preStop
# hook (slurmd-drain), which Kubernetes runs before it sends SIGTERM here. While slurmd runs, an admin
# drain is followed: the NodeSet's archipelago.dev/drained annotation reaches this pod through the
# downward API file below (non-empty: drained with that reason; empty: back in service).
set -u
node=${SLURM_NODENAME:?SLURM_NODENAME not set}
drained_file=${DRAINED_FILE:-/etc/podinfo/drained}
"$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
follow_drain() {
  applied=""
  while kill -0 "$pid" 2>/dev/null; do
    want=$(cat "$drained_file" 2>/dev/null || true)
    if [ "$want" != "$applied" ]; then
      [ -f /run/slurm/conf/slurm.conf ] && export SLURM_CONF=/run/slurm/conf/slurm.conf
      if [ -n "$want" ]; then
        timeout 10 scontrol update NodeName="$node" State=DRAIN Reason="archipelago: $want" && applied=$want
      else
        timeout 10 scontrol update NodeName="$node" State=RESUME && applied=""
      fi
    fi
    sleep 5
  done
}
follow_drain &
watcher=$!
wait "$pid"
wait "$pid" 2>/dev/null
rc=$?
kill "$watcher" 2>/dev/null
# Configless slurmd caches the island's slurm.conf here; scontrol uses it to find the controller.
[ -f /run/slurm/conf/slurm.conf ] && export SLURM_CONF=/run/slurm/conf/slurm.conf
timeout 10 scontrol delete NodeName="$node" 2>/dev/null || echo "slurmd-run: could not delete $node (its jobs may still be completing)" >&2
exit "$rc"
