#!/usr/bin/env bash
# Stops the control plane and the local infrastructure started by up.sh.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/stack/lib.sh"
for role in worker api; do stop_pidfile "$repo/.stack/$role.pid"; done
bash "$repo/scripts/stack/infra-down.sh"
