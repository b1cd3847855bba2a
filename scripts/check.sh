#!/usr/bin/env bash
# The static checks `npm test` runs before the suites: the layers of src/ and no import cycles
# (dependency-cruiser, .dependency-cruiser.cjs), lint (ESLint, eslint.config.mjs) and formatting
# (Prettier, .prettierrc.json; `npm run format` rewrites what it reports).
set -euo pipefail
cd "$(dirname "$0")/.."
TS_SOURCES=("src/**/*.ts" "test/**/*.ts" "benchmarks/**/*.ts" "operators/src/**/*.ts" "operators/test/**/*.ts")
npx depcruise --config .dependency-cruiser.cjs src
npx eslint --max-warnings 0 src test benchmarks operators/src operators/test
npx prettier --check --log-level warn "${TS_SOURCES[@]}"
echo "checks passed: layers, lint, formatting"
