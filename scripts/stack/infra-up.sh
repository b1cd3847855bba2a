#!/usr/bin/env bash
# Everything Archipelago runs against, on one Debian 12 or 13 machine: packages, PostgreSQL, Redis,
# three local SLURM islands (local-a reached over slurmrestd, local-b over SSH, local-c = SLURM 24.11
# with accounting) and sshd. local-c runs the host's own SLURM where that is 24.11 (Debian 13), else
# Debian 13's packages from a root built once under /var/lib/archipelago/roots/trixie (about a minute).
# Idempotent; islands restart fresh (no old jobs) unless KEEP_STATE=1.
# Writes .stack/islands.json, the islands file the control plane and the tests pick islands from.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/stack/lib.sh"
stack="$repo/.stack"
mkdir -p "$stack"
t0=$(date +%s%N)
ACCOUNTING=1 MODERN_SLURM=1 BROWSER=1 bash "$repo/slurm/local/install.sh"
bash "$repo/slurm/local/users.sh" >/dev/null
PG_FAST=${PG_FAST:-1} bash "$repo/scripts/stack/pg-up.sh"
bash "$repo/scripts/stack/redis-up.sh"
bash "$repo/slurm/local/island-up.sh" local-a 0 | tail -1
bash "$repo/slurm/local/island-up.sh" local-b 1 | tail -1
bash "$repo/slurm/local/sshd-up.sh" | tail -1
ISLAND_ROOT=$(root_for_2411) ACCOUNTING=1 bash "$repo/slurm/local/island-up.sh" local-c 8 | tail -1

# local-a: REST adapter, files read locally; local-b: SSH adapter, files over SFTP as the owner;
# local-c: REST, files read locally (its jobs write to the host's /home), its own sshd for the ssh path.
node -e '
const fs = require("fs");
const read = (n) => JSON.parse(fs.readFileSync(`/etc/archipelago/islands/${n}/island.json`, "utf8"));
const a = read("local-a");
const b = { ...read("local-b"), adapter: "ssh", files: "sftp" };
const c = read("local-c");
fs.writeFileSync(process.argv[1], JSON.stringify({ islands: [a, b, c] }, null, 2) + "\n");
' "$stack/islands.json"
echo "infrastructure ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
