#!/bin/sh
# preStop hook of a slurmd pod: drain the node in SLURM and wait for its jobs to finish. Kubernetes bounds
# the wait with the pod's terminationGracePeriodSeconds (NodeSet spec.drainTimeoutSeconds); when that runs
# out the pod is killed and SLURM requeues or fails what still ran.
#   slurmd-drain <NodeName> <file holding the reason (downward API)>
set -u
node=$1
reason=$(cat "${2:-/dev/null}" 2>/dev/null || true)
[ -n "$reason" ] || reason="pod terminating"
[ -f /run/slurm/conf/slurm.conf ] && export SLURM_CONF=/run/slurm/conf/slurm.conf
timeout 10 scontrol update NodeName="$node" State=DRAIN Reason="archipelago: $reason" || true
# Running, completing or suspended jobs keep the node; pending jobs are not on it.
while [ -n "$(timeout 10 squeue -h -w "$node" -t R,CG,S -o %i 2>/dev/null || echo unknown)" ]; do
  sleep 5
done
