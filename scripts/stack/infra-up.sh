#!/usr/bin/env bash
# Everything Archipelago runs against, on one Debian 12 machine: packages, PostgreSQL, Redis,
# two local SLURM islands (local-a reached over slurmrestd, local-b over SSH) and sshd.
# Idempotent; islands restart fresh (no old jobs) unless KEEP_STATE=1.
# Writes .stack/islands.json, the islands file the control plane reads.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
stack="$repo/.stack"
mkdir -p "$stack"
t0=$(date +%s%N)
bash "$repo/slurm/local/install.sh"
bash "$repo/slurm/local/users.sh" >/dev/null
PG_FAST=${PG_FAST:-1} bash "$repo/scripts/stack/pg-up.sh"
bash "$repo/scripts/stack/redis-up.sh"
bash "$repo/slurm/local/island-up.sh" local-a 0 | tail -1
bash "$repo/slurm/local/island-up.sh" local-b 1 | tail -1
bash "$repo/slurm/local/sshd-up.sh" | tail -1

# local-a: REST adapter, files read locally; local-b: SSH adapter, files over SFTP as the owner.
node -e '
const fs = require("fs");
const read = (n) => JSON.parse(fs.readFileSync(`/etc/archipelago/islands/${n}/island.json`, "utf8"));
const a = read("local-a");
const b = { ...read("local-b"), adapter: "ssh", files: "sftp" };
fs.writeFileSync(process.argv[1], JSON.stringify({ islands: [a, b] }, null, 2) + "\n");
' "$stack/islands.json"
echo "infrastructure ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
