#!/usr/bin/env bash
# Demo provider nodes for the local stack: four node agents on two emulated sites, "west" and "east",
# 12 ms apart through the WAN relay (src/apps/devstack/wan-relay.ts; this kernel has no tc netem). Each agent
# owns a loopback address (127.77.<site>.<n>), answers probes there and probes from there, so the relay
# can tell the sites apart. The control plane groups them into islands from what they measure and launches
# one SLURM cluster per island (ARCHIPELAGO_ISLAND_LAUNCHER=local).
#
#   usage: scripts/stack/demo-agents.sh up|down     (env API=http://127.0.0.1:8080, ADMIN_KEY_FILE)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/stack/lib.sh"
LOG_TAG=demo-agents
dir="$repo/.stack/agents"
api=${API:-http://127.0.0.1:8080}
agent="$repo/dist/src/apps/agent/main.js"
PLAN="w1:west:127.77.1.11 w2:west:127.77.1.12 e1:east:127.77.2.11 e2:east:127.77.2.12"

down() {
  for f in "$dir"/*.pid; do [ -e "$f" ] && stop_pidfile "$f"; done
  return 0
}

up() {
  down
  mkdir -p "$dir"; chmod 700 "$dir"
  admin=$(cat "${ADMIN_KEY_FILE:-$repo/.stack/admin.key}")
  call() { curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@"; }
  routes=""
  for entry in $PLAN; do
    IFS=: read -r label site addr <<<"$entry"
    routes+="{\"listen\":{\"host\":\"$addr\",\"port\":48800},\"target\":{\"host\":\"$addr\",\"port\":48801},\"site\":\"$site\"},"
  done
  cat >"$dir/wan-relay.json" <<JSON
{ "model": { "sites": { "west": "127.77.1.", "east": "127.77.2." }, "rttMs": { "west|east": 12 } }, "routes": [${routes%,}] }
JSON
  nohup node "$repo/dist/src/apps/devstack/wan-relay.js" "$dir/wan-relay.json" >>"$dir/wan-relay.log" 2>&1 &
  echo $! >"$dir/wan-relay.pid"

  if [ ! -s "$dir/provider.id" ]; then
    call -d '{"name":"demo-provider","kind":"provider_admin"}' "$api/v1/principals" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id' >"$dir/provider.id"
  fi
  provider=$(cat "$dir/provider.id")
  for entry in $PLAN; do
    IFS=: read -r label site addr <<<"$entry"
    if [ ! -s "$dir/$label.state.json" ]; then
      [ -s "$dir/$label.key" ] || node "$agent" keygen --key-file "$dir/$label.key" >/dev/null
      token=$(call -d "{\"providerId\":\"$provider\",\"maxUses\":1,\"expiresInSeconds\":600}" "$api/v1/join-tokens" | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
      node "$agent" join --server "$api" --token "$token" --key-file "$dir/$label.key" --state-file "$dir/$label.state.json" \
        --region lab --zone "$site" --probe-host "$addr" --probe-port 48800 --listen-host "$addr" --listen-port 48801 >>"$dir/$label.log" 2>&1
    fi
    nohup node "$agent" run --server "$api" --key-file "$dir/$label.key" --state-file "$dir/$label.state.json" \
      --interval 5 --probe-interval 30 >>"$dir/$label.log" 2>&1 &
    echo $! >"$dir/$label.pid"
  done
  log "4 agents running (logs: $dir/*.log); islands form from their RTTs within ~30 s: GET $api/v1/islands"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
