#!/usr/bin/env bash
# Installs npm dependencies when the lock file changed (or none are installed) and compiles.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
stamp=node_modules/.archipelago-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
npx tsc -p tsconfig.json
npx tsc -p src/apps/web/tsconfig.json  # the web view the API serves at /ui/ (browser modules)
