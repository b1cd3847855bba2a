#!/usr/bin/env bash
# Regenerates the typed slurmrestd clients from the OpenAPI specs SLURM itself provides.
#
#   usage: scripts/gen-slurm-client.sh [all|22.05|24.11]        (default all)
#
# 22.05 (REST v0.0.38): the spec is embedded in the installed openapi plugin (`ld -r -b binary`
#   symbols _binary_openapi_json_start/_end), so no running slurmrestd is needed: we read the two
#   symbol addresses, translate the virtual address into a file offset through the section that holds
#   it, and cut the bytes out with dd. Plugin: $SLURM_OPENAPI_SO or the host's (Debian 12) openapi_v0_0_38.so.
#   Output: src/adapters/slurm/rest/openapi/slurm-v0.0.38.json, src/adapters/slurm/rest/generated/slurm-v0.0.38.d.ts
#
# 24.11 (REST v0.0.40, v0.0.41, v0.0.42): 24.11 builds its spec at run time from the loaded data
#   parsers, so it is fetched from a running 24.11 slurmrestd with openapi/slurmctld AND openapi/slurmdbd:
#   `GET /openapi/v3` of island $SLURM_2411_ISLAND (default local-c, started by scripts/stack/infra-up.sh or
#   `ISLAND_ROOT=trixie ACCOUNTING=1 slurm/local/island-up.sh local-c 8`), as the island's read user with
#   a token from its own key. That document holds every parser's paths (/slurm/<v>/..., /slurmdb/<v>/...)
#   and schemas (named "<v>_..."); it is split into one self-contained spec per version (a $ref that
#   leaves its version stops the script). Output per version <v>:
#   src/slurm/rest/openapi/slurm-<v>.json, src/slurm/rest/generated/slurm-<v>.d.ts
#
# Specs are pretty-printed (stable diffs); types come from openapi-typescript (a devDependency).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHAT=${1:-all}
case $WHAT in all|22.05|24.11) ;; *) echo "usage: $0 [all|22.05|24.11]" >&2; exit 2 ;; esac
OPENAPI_DIR="$ROOT/src/slurm/rest/openapi"; TYPES_DIR="$ROOT/src/slurm/rest/generated"
mkdir -p "$OPENAPI_DIR" "$TYPES_DIR"
command -v node >/dev/null || { echo "gen-slurm-client: node is required" >&2; exit 1; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT

types() { # <version>: openapi-typescript for src/slurm/rest/openapi/slurm-<version>.json
  (cd "$ROOT" && npx --no-install openapi-typescript "$OPENAPI_DIR/slurm-$1.json" \
    --empty-objects-unknown --default-non-nullable=false -o "$TYPES_DIR/slurm-$1.d.ts")
  echo "gen-slurm-client: wrote $OPENAPI_DIR/slurm-$1.json and $TYPES_DIR/slurm-$1.d.ts"
}

gen_2205() {
  local so="${SLURM_OPENAPI_SO:-/usr/lib/x86_64-linux-gnu/slurm-wlm/openapi_v0_0_38.so}" tool
  for tool in readelf dd; do
    command -v "$tool" >/dev/null || { echo "gen-slurm-client: $tool is required" >&2; exit 1; }
  done
  [ -r "$so" ] || { echo "gen-slurm-client: cannot read $so (SLURM 22.05's slurmrestd; set SLURM_OPENAPI_SO)" >&2; exit 1; }
  # Symbol table: "Num: Value Size Type Bind Vis Ndx Name"
  sym() { readelf -sW "$so" | awk -v n="$1" '$8 == n { print $2 " " $7; exit }'; }
  local START_HEX START_NDX END_HEX SEC_ADDR SEC_OFF
  read -r START_HEX START_NDX < <(sym _binary_openapi_json_start)
  read -r END_HEX _ < <(sym _binary_openapi_json_end)
  [ -n "${START_HEX:-}" ] && [ -n "${END_HEX:-}" ] || { echo "gen-slurm-client: openapi symbols not found in $so" >&2; exit 1; }
  # Section header for index START_NDX: "[Nr] Name Type Address Off Size ..."
  read -r SEC_ADDR SEC_OFF < <(readelf -SW "$so" | sed 's/\[ */[/' | awk -v i="[$START_NDX]" '$1 == i { print $4 " " $5; exit }')
  [ -n "${SEC_ADDR:-}" ] || { echo "gen-slurm-client: section $START_NDX not found" >&2; exit 1; }
  local start=$((16#$START_HEX)) end=$((16#$END_HEX)) addr=$((16#$SEC_ADDR)) off=$((16#$SEC_OFF))
  local file_off=$((start - addr + off)) len=$((end - start))
  echo "gen-slurm-client: $so: spec at file offset $file_off, $len bytes"
  dd if="$so" of="$TMP/v0.0.38.json" bs=1 skip="$file_off" count="$len" status=none
  # Validate and pretty-print; strip a trailing NUL if the blob has one.
  node -e '
    const fs = require("fs");
    const raw = fs.readFileSync(process.argv[1], "utf8").replace(/\0+$/, "");
    const spec = JSON.parse(raw);
    if (!spec.openapi || !spec.paths) throw new Error("not an OpenAPI document");
    fs.writeFileSync(process.argv[2], JSON.stringify(spec, null, 2) + "\n");
    console.log("gen-slurm-client: openapi " + spec.openapi + ", " + Object.keys(spec.paths).length + " paths");
  ' "$TMP/v0.0.38.json" "$OPENAPI_DIR/slurm-v0.0.38.json"
  types v0.0.38
}

gen_2411() {
  local island=${SLURM_2411_ISLAND:-local-c}
  local envf=/etc/archipelago/islands/$island/env conf url user token
  [ -r "$envf" ] || { echo "gen-slurm-client: no island $island ($envf): start it first (see the header)" >&2; exit 1; }
  url=$(sed -n 's/^SLURM_REST_URL=//p' "$envf")
  grep -q '^SLURM_VERSION=24\.11\.' "$envf" || { echo "gen-slurm-client: $island does not run SLURM 24.11 ($envf)" >&2; exit 1; }
  grep -q '^ACCOUNTING=1' "$envf" || { echo "gen-slurm-client: $island has no accounting: its slurmrestd serves no /slurmdb/ paths" >&2; exit 1; }
  user=$(node -pe 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).readUser' "/etc/archipelago/islands/$island/island.json")
  token=$("$ROOT/slurm/local/island-exec.sh" "$island" scontrol token username="$user" lifespan=120 | sed -n 's/^SLURM_JWT=//p')
  [ -n "$token" ] || { echo "gen-slurm-client: no token from $island" >&2; exit 1; }
  curl -sf --max-time 60 -H "X-SLURM-USER-NAME: $user" -H "X-SLURM-USER-TOKEN: $token" "$url/openapi/v3" -o "$TMP/served.json" \
    || { echo "gen-slurm-client: GET $url/openapi/v3 failed" >&2; exit 1; }
  node -e '
    const fs = require("fs");
    const [served, outDir] = process.argv.slice(1);
    const spec = JSON.parse(fs.readFileSync(served, "utf8"));
    const versions = [...new Set(Object.keys(spec.paths).map((p) => /^\/slurm(?:db)?\/(v\d+\.\d+\.\d+)\//.exec(p)?.[1]))];
    if (versions.includes(undefined)) throw new Error("a path outside /slurm/<v>/ and /slurmdb/<v>/");
    for (const v of versions.sort()) {
      const pick = (object, keep) => Object.fromEntries(Object.entries(object).filter(([k]) => keep(k)));
      const paths = pick(spec.paths, (p) => p.includes(`/${v}/`));
      const schemas = pick(spec.components.schemas, (name) => name.startsWith(`${v}_`));
      const one = { ...spec, paths, components: { ...spec.components, schemas } };
      const refs = JSON.stringify(one).match(/"#\/components\/schemas\/[^"]*"/g) ?? [];
      const foreign = refs.filter((r) => !schemas[r.slice(22, -1)]);
      if (foreign.length) throw new Error(`${v}: references outside its own schemas: ${[...new Set(foreign)].slice(0, 5)}`);
      if (!Object.keys(paths).some((p) => p.startsWith("/slurmdb/"))) throw new Error(`${v}: no /slurmdb/ paths (openapi/slurmdbd not loaded?)`);
      fs.writeFileSync(`${outDir}/slurm-${v}.json`, JSON.stringify(one, null, 2) + "\n");
      console.log(`gen-slurm-client: ${spec.info.version}: ${v}: ${Object.keys(paths).length} paths, ${Object.keys(schemas).length} schemas`);
    }
    fs.writeFileSync(`${outDir}/.versions`, versions.join(" "));
  ' "$TMP/served.json" "$TMP"
  local v
  for v in $(cat "$TMP/.versions"); do
    mv -f "$TMP/slurm-$v.json" "$OPENAPI_DIR/slurm-$v.json"
    types "$v"
  done
}

case $WHAT in
  22.05) gen_2205 ;;
  24.11) gen_2411 ;;
  all) gen_2205; gen_2411 ;;
esac
