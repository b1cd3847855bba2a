#!/usr/bin/env bash
# The whole stack on one fresh Debian 12 or 13 machine: infrastructure (three SLURM islands, PostgreSQL,
# Redis, sshd), then the control plane's API (port 8080) and worker in the background, then four demo
# provider nodes on two emulated sites whose measured RTTs become two more islands (own slurmctld each).
# Prints a working example request. Stop everything with `npm run down`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
stack="$repo/.stack"
. "$repo/scripts/stack/lib.sh"
mkdir -p "$stack"
bash "$repo/scripts/stack/infra-up.sh"
bash "$repo/scripts/build.sh"

umask 077
[ -s "$stack/admin.key" ] || node -e 'console.log("adm_" + require("crypto").randomBytes(32).toString("base64url"))' > "$stack/admin.key"
# The envelope key that seals launched islands' secrets in PostgreSQL (docs/security.md: rotation).
[ -s "$stack/secrets.key" ] || node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))' > "$stack/secrets.key"
export ARCHIPELAGO_SECRETS_KEY_FILE="$stack/secrets.key"
export ARCHIPELAGO_ISLAND_LAUNCHER=${ARCHIPELAGO_ISLAND_LAUNCHER:-local}
# Every island of the stack: the adapters speak SLURM 22.05 (REST v0.0.38) and 23.11+ (v0.0.40-v0.0.42).
export ARCHIPELAGO_ISLANDS_FILE="$stack/islands.json"
export ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE="$stack/admin.key"
# The audit chain's head, kept outside PostgreSQL (on a real deployment: where DB admins cannot write).
export ARCHIPELAGO_AUDIT_WITNESS_FILE=${ARCHIPELAGO_AUDIT_WITNESS_FILE:-$stack/audit-witness.jsonl}
export PORT=${PORT:-8080}
# No chain on the local stack: a development identity file stands in for x/veid (loudly labelled in
# the log), with a wallet of alice's already in it, so wallet login and submission work at once.
if [ -z "${CHAIN_RPC_URL:-}" ]; then
  node "$repo/dist/src/apps/devstack/dev-wallet.js" "$stack" --slurm-user alice --prefix "${CHAIN_BECH32_PREFIX:-ve}" > "$stack/dev-wallet.json"
  export ARCHIPELAGO_DEV_IDENTITY_FILE="$stack/dev-identities.json"
fi

for role in api worker; do
  pidfile="$stack/$role.pid"
  if [ -s "$pidfile" ] && alive "$(cat "$pidfile")"; then stop_pidfile "$pidfile"; fi
  # The worker has no HTTP API: Prometheus scrapes it on a listener of its own (docs/operations.md).
  metrics_port=""; [ "$role" = worker ] && metrics_port=${WORKER_METRICS_PORT:-9464}
  # --max-semi-space-size: see docs/operations.md, Processes.
  METRICS_PORT=$metrics_port nohup node --max-semi-space-size=32 "$repo/dist/src/apps/server/main.js" "$role" >>"$stack/$role.log" 2>&1 &
  echo $! > "$pidfile"
done
ready() { curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null; }
if ! wait_for 60 ready; then
  echo "the control plane did not become ready; last log lines:" >&2
  tail -20 "$stack/api.log" "$stack/worker.log" >&2
  exit 1
fi

# A researcher to try it with (idempotent: reuses the key from an earlier run).
admin=$(cat "$stack/admin.key")
api="http://127.0.0.1:$PORT"
if [ ! -s "$stack/alice.key" ]; then
  id=$(curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"name":"alice","kind":"researcher","slurmUser":"alice"}' "$api/v1/principals" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id' 2>/dev/null) \
    || id=$(curl -sf -H "Authorization: Bearer $admin" "$api/v1/principals" | node -pe 'JSON.parse(require("fs").readFileSync(0)).items.find(p => p.name === "alice").id')
  curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"scopes":["submit","read"]}' \
    "$api/v1/principals/$id/api-keys" | node -pe 'JSON.parse(require("fs").readFileSync(0)).key' > "$stack/alice.key"
fi

ADMIN_KEY_FILE="$stack/admin.key" API="$api" bash "$repo/scripts/stack/demo-agents.sh" up

cat <<INFO

Archipelago is up: API $api (OpenAPI UI at $api/docs), worker running, islands local-a (slurmrestd) and local-b (ssh)
(local-c, SLURM 24.11, runs beside them for the tests: slurm/local/island-exec.sh local-c sinfo);
four demo provider nodes (two sites, 12 ms apart) are being grouped into two more islands: curl -s -H "Authorization: Bearer \$(cat $stack/admin.key)" $api/v1/islands
Metrics: $api/metrics (API) and http://127.0.0.1:${WORKER_METRICS_PORT:-9464}/metrics (worker); Grafana dashboard: docs/grafana/archipelago.json
Admin key: $stack/admin.key   Researcher "alice" key: $stack/alice.key   Logs: $stack/*.log
Alice's development wallet: $stack/wallet.mnemonic (identities without a chain: $stack/dev-identities.json)

With the command line (npm link, or node dist/src/apps/cli/main.js):
  archipelago login --url $api --mnemonic-file $stack/wallet.mnemonic    # or: --api-key - < $stack/alice.key
  printf '#!/bin/bash\necho hello\n' | archipelago sbatch -t 1

Try it:
  KEY=\$(cat $stack/alice.key)
  curl -s -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' $api/v1/jobs \\
       -d '{"script":"#!/bin/bash\\n#SBATCH --job-name=hello\\n#SBATCH --time=1\\necho hello from \$SLURM_JOB_ID on \$(hostname)\\n"}'
  curl -s -H "Authorization: Bearer \$KEY" $api/v1/jobs/1
  curl -s -H "Authorization: Bearer \$KEY" $api/v1/jobs/1/output
INFO
