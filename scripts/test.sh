#!/usr/bin/env bash
# All the tests, against real services: brings up the local infrastructure (three SLURM islands,
# PostgreSQL, Redis, sshd; installing Debian packages on a fresh machine), builds from clean,
# then runs the unit and integration suites with Node's test runner.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
t0=$(date +%s)
# (infra-up installs slurmdbd + MariaDB too: local-c has accounting, and the usage suite starts its own
# accounting island, test/support/accounting-island.ts)
bash scripts/stack/infra-up.sh
rm -rf dist
bash scripts/build.sh
bash scripts/check.sh  # layers and cycles, lint, formatting
# Where the adapter contract tests find the local island (override to aim them elsewhere).
export ARCH_TEST_REST_URL=${ARCH_TEST_REST_URL:-http://127.0.0.1:7820}
export ARCH_TEST_JWT_KEY_FILE=${ARCH_TEST_JWT_KEY_FILE:-/var/lib/archipelago/islands/local-a/jwt_hs256.key}
export ARCH_TEST_SLURM_CONF=${ARCH_TEST_SLURM_CONF:-/etc/archipelago/islands/local-a/slurm.conf}
export ARCH_TEST_SSH_PORT=${ARCH_TEST_SSH_PORT:-2222}
export ARCH_TEST_SSH_KEY_FILE=${ARCH_TEST_SSH_KEY_FILE:-/var/lib/archipelago/ssh/id_ed25519}
export ARCH_TEST_SSH_HOST_KEY_SHA256_FILE=${ARCH_TEST_SSH_HOST_KEY_SHA256_FILE:-/var/lib/archipelago/ssh/host_key.sha256}
shopt -s nullglob
# unit: pure logic; service: services on in-memory fakes of their ports (seconds); integration: real processes.
files=(dist/test/unit/*.test.js dist/test/service/*.test.js dist/test/integration/*.test.js)
echo "running ${#files[@]} test files (stack + build took $(( $(date +%s) - t0 )) s)"
rm -rf operators/dist; npx tsc -p operators/tsconfig.json; node --test --test-concurrency=1 operators/dist/operators/test/  # ESM operators (tsconfig of their own)
node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
