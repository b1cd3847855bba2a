#!/usr/bin/env bash
# Stops the control plane and the local infrastructure started by up.sh.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/stack/lib.sh"
bash "$repo/scripts/stack/demo-agents.sh" down
for role in worker api; do stop_pidfile "$repo/.stack/$role.pid"; done
# Islands the local launcher started (island-up.sh slots 2-4, ARCHIPELAGO_LOCAL_ISLAND_SLOTS).
for env in /etc/archipelago/islands/*/env; do
  [ -e "$env" ] || continue
  idx=$(sed -n 's/^ISLAND_INDEX=//p' "$env")
  case $idx in 2|3|4) bash "$repo/slurm/local/island-down.sh" "$(sed -n 's/^ISLAND_NAME=//p' "$env")" || true ;; esac
done
bash "$repo/scripts/stack/infra-down.sh"
