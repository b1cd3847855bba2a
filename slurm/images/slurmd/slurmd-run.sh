#!/bin/sh
# Runs slurmd (the pod's args) and, once it has stopped, deletes the dynamic node from the island so its
# NodeName is free for the next registration. The drain itself happened before, in the preStop hook
# (slurmd-drain), which Kubernetes runs before it sends SIGTERM here.
set -u
node=${SLURM_NODENAME:?SLURM_NODENAME not set}
"$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
wait "$pid"
wait "$pid" 2>/dev/null
rc=$?
# Configless slurmd caches the island's slurm.conf here; scontrol uses it to find the controller.
[ -f /run/slurm/conf/slurm.conf ] && export SLURM_CONF=/run/slurm/conf/slurm.conf
timeout 10 scontrol delete NodeName="$node" 2>/dev/null || echo "slurmd-run: could not delete $node (its jobs may still be completing)" >&2
exit "$rc"
