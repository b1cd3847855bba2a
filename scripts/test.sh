#!/usr/bin/env bash
# All the tests, against real services: brings up the local infrastructure (two SLURM islands,
# PostgreSQL, Redis, sshd; installing Debian packages on a fresh machine), builds from clean,
# then runs the unit and integration suites with Node's test runner.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
t0=$(date +%s)
bash scripts/stack/infra-up.sh
rm -rf dist
bash scripts/build.sh
shopt -s nullglob
files=(dist/test/unit/*.test.js dist/test/integration/*.test.js)
echo "running ${#files[@]} test files (stack + build took $(( $(date +%s) - t0 )) s)"
node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
