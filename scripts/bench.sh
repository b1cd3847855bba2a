#!/usr/bin/env bash
# Every benchmark in sequence, then the report: benchmarks/results/summary.json, REPORT.md, chart.svg.
#
#   npm run bench                                  # modest sizes (about 5 minutes)
#   BENCH_SIZE=full npm run bench                  # each benchmark's own defaults (the issue's sizes)
#   BENCH_ONLY="memory placement" npm run bench    # a subset (the report still lists every benchmark's newest file)
#   BENCH_SKIP="usage operators" npm run bench     # leave some out
#   BENCH_ARGS_submit="--jobs 1000" npm run bench  # one benchmark's flags, instead of the size's
#
# Needs the local stack (npm run up). The submit benchmark floods island local-a for a few seconds and
# leaves its cancelled jobs in slurmctld for MinJobAge (see benchmarks/README.md): do not loop this.
# The control-plane benchmarks get a private Redis started here (no persistence, stopped at the end),
# so they never flush a database of a shared Redis; set ARCH_TEST_REDIS_URL to use another server.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
size=${BENCH_SIZE:-quick}
case "$size" in quick | full) ;; *) echo "BENCH_SIZE must be quick or full" >&2; exit 2 ;; esac

declare -A quick=(
  [topology]="--nodes 2000 --runs 1"
  [stability]="--nodes 2000 --seconds 900"
  [placement]="--islands 100 --jobs 2000 --runs 1"
  [memory]="--jobs 100000 --idle-seconds 10 --serve-seconds 10"
  [arrays]="--seconds 15"
  [accept]="--processes 1,2 --jobs 5000 --warmup 1000"
  [submit]="--jobs 500 --warmup 50 --ssh-jobs 300"
  [identity]="--jobs 300 --logins 50"
  [usage]="--jobs 50"
  [operators]="--islands 100 --nodesets 1000"
  [ledger]="--jobs 2000 --baseline-jobs 300"
)
declare -A full=(
  [memory]="--idle-seconds 30 --serve-seconds 30"
)
order=(topology stability placement memory arrays accept submit identity usage operators ledger)

npx tsc -p tsconfig.json || exit 1

if [[ -z "${ARCH_TEST_REDIS_URL:-}" ]]; then
  redis_dir=$(mktemp -d /tmp/bench-redis.XXXXXX)
  redis_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" >"$redis_dir/redis.log" 2>&1 &
  redis_pid=$!
  trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$redis_dir"' EXIT
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export ARCH_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
  echo "private Redis on port $redis_port"
fi

selected() {
  local name=$1
  [[ " ${BENCH_SKIP:-} " == *" $name "* ]] && return 1
  [[ -z "${BENCH_ONLY:-}" || " $BENCH_ONLY " == *" $name "* ]]
}

failed=()
for name in "${order[@]}"; do
  selected "$name" || continue
  if [[ $name == operators ]]; then
    npx tsc -p operators/tsconfig.json || { failed+=("$name (build)"); continue; }
    cmd=(node operators/dist/benchmarks/operators/run.mjs)
  elif [[ -f dist/benchmarks/$name/run.js ]]; then
    cmd=(node "dist/benchmarks/$name/run.js")
  else
    echo "== $name: not built (no dist/benchmarks/$name/run.js), skipped"
    continue
  fi
  override="BENCH_ARGS_$name"
  if [[ -n "${!override+set}" ]]; then args=${!override}
  elif [[ $size == quick ]]; then args=${quick[$name]:-}
  else args=${full[$name]:-}
  fi
  echo "== $name ${args}"
  t0=$(date +%s)
  # Each benchmark writes its JSON to benchmarks/results/ itself; its stdout copy is not needed here.
  # shellcheck disable=SC2086
  if "${cmd[@]}" $args >/dev/null; then
    echo "== $name done in $(( $(date +%s) - t0 )) s"
  else
    echo "== $name FAILED (exit $?) after $(( $(date +%s) - t0 )) s"
    failed+=("$name")
  fi
done

node dist/benchmarks/report/run.js --prune >/dev/null && echo "report: benchmarks/results/REPORT.md, summary.json, chart.svg (superseded results files pruned)"
if (( ${#failed[@]} > 0 )); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
