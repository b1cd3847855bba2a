#!/usr/bin/env bash
# Stops what infra-up.sh started.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bash "$repo/slurm/local/sshd-down.sh"
bash "$repo/slurm/local/island-down.sh" local-c
bash "$repo/slurm/local/island-down.sh" local-b
bash "$repo/slurm/local/island-down.sh" local-a
bash "$repo/scripts/stack/redis-down.sh"
bash "$repo/scripts/stack/pg-down.sh"
