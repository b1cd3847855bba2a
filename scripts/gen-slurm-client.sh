#!/usr/bin/env bash
# Regenerates the typed slurmrestd client from SLURM's own OpenAPI spec.
#
# The spec is embedded in the installed openapi plugin (`ld -r -b binary` symbols
# _binary_openapi_json_start/_end), so no running slurmrestd is needed: we read the two symbol
# addresses, translate the virtual address into a file offset through the section that holds it,
# and cut the bytes out with dd. Output:
#   src/slurm/rest/openapi/slurm-v0.0.38.json      (committed, pretty-printed)
#   src/slurm/rest/generated/slurm-v0.0.38.d.ts    (openapi-typescript)
#
# Usage: scripts/gen-slurm-client.sh [path/to/openapi_v0_0_38.so]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SO="${1:-${SLURM_OPENAPI_SO:-/usr/lib/x86_64-linux-gnu/slurm-wlm/openapi_v0_0_38.so}}"
OUT_JSON="$ROOT/src/slurm/rest/openapi/slurm-v0.0.38.json"
OUT_TS="$ROOT/src/slurm/rest/generated/slurm-v0.0.38.d.ts"

for tool in readelf dd node; do
  command -v "$tool" >/dev/null || { echo "gen-slurm-client: $tool is required" >&2; exit 1; }
done
[ -r "$SO" ] || { echo "gen-slurm-client: cannot read $SO (install slurmrestd / slurm-wlm)" >&2; exit 1; }

# Symbol table: "Num: Value Size Type Bind Vis Ndx Name"
sym() { readelf -sW "$SO" | awk -v n="$1" '$8 == n { print $2 " " $7; exit }'; }
read -r START_HEX START_NDX < <(sym _binary_openapi_json_start)
read -r END_HEX _ < <(sym _binary_openapi_json_end)
[ -n "${START_HEX:-}" ] && [ -n "${END_HEX:-}" ] || { echo "gen-slurm-client: openapi symbols not found in $SO" >&2; exit 1; }

# Section header for index START_NDX: "[Nr] Name Type Address Off Size ..."
read -r SEC_ADDR SEC_OFF < <(readelf -SW "$SO" | sed 's/\[ */[/' | awk -v i="[$START_NDX]" '$1 == i { print $4 " " $5; exit }')
[ -n "${SEC_ADDR:-}" ] || { echo "gen-slurm-client: section $START_NDX not found" >&2; exit 1; }

start=$((16#$START_HEX)); end=$((16#$END_HEX)); addr=$((16#$SEC_ADDR)); off=$((16#$SEC_OFF))
file_off=$((start - addr + off)); len=$((end - start))
echo "gen-slurm-client: $SO: spec at file offset $file_off, $len bytes"

TMP="$(mktemp)"; trap 'rm -f "$TMP"' EXIT
dd if="$SO" of="$TMP" bs=1 skip="$file_off" count="$len" status=none

mkdir -p "$(dirname "$OUT_JSON")" "$(dirname "$OUT_TS")"
# Validate and pretty-print (stable output for diffs); strip a trailing NUL if the blob has one.
node -e '
  const fs = require("fs");
  const raw = fs.readFileSync(process.argv[1], "utf8").replace(/\0+$/, "");
  const spec = JSON.parse(raw);
  if (!spec.openapi || !spec.paths) throw new Error("not an OpenAPI document");
  fs.writeFileSync(process.argv[2], JSON.stringify(spec, null, 2) + "\n");
  console.log("gen-slurm-client: openapi " + spec.openapi + ", " + Object.keys(spec.paths).length + " paths");
' "$TMP" "$OUT_JSON"

cd "$ROOT"
npx --no-install openapi-typescript "$OUT_JSON" \
  --empty-objects-unknown --default-non-nullable=false \
  -o "$OUT_TS"
echo "gen-slurm-client: wrote $OUT_JSON and $OUT_TS"
