#!/usr/bin/env bash
# End-to-end check of the local stack; exit 0 only if everything works.
#
#   usage: slurm/local/smoke.sh [island...]        (default: local-a local-b local-c)
#   env:   SMOKE_USER=alice   TIME=20 (seconds per job)   SKIP_SSH=1 / SKIP_DB=1
#
# Per island: all nodes idle (sinfo via SLURM_CONF); a job submitted over REST as SMOKE_USER with a
# token from `scontrol token username=<user> lifespan=60` runs as that user and writes its output in
# the user's home; `ssh ... <user>@127.0.0.1 'SLURM_CONF=... sbatch --parsable --wrap true'` with the
# host key PINNED (known_hosts from sshd-up.sh, StrictHostKeyChecking=yes) completes. Islands in a
# Debian root (ISLAND_ROOT) are checked with the root's Slurm commands and through their own sshd; the
# REST request is written in the island's newest API (SLURM_REST_API: v0.0.38 or v0.0.42).
# Then PostgreSQL (select 1 in archipelago and archipelago_test) and Redis (PING).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
LOG_TAG=smoke
require_root
U=${SMOKE_USER:-alice}; TMO=${TIME:-20}; ISL=("$@"); [ ${#ISL[@]} -gt 0 ] || ISL=(local-a local-b local-c)
H=$(getent passwd "$U" | cut -d: -f6)
fails=0; ok() { log "ok   $*"; }; ko() { warn "FAIL $*"; fails=$((fails + 1)); }
job_state() { timeout 5 "${IN_ROOT[@]}" squeue -h -t all -j "$1" -o %T 2>/dev/null; }
done_ok() { [ "$(job_state "$1")" = COMPLETED ]; }

for n in "${ISL[@]}"; do
  envf=$ARCH_ETC/islands/$n/env
  [ -r "$envf" ] || { ko "$n: no $envf (island-up.sh never ran?)"; continue; }
  # shellcheck disable=SC1090
  ( . "$envf"; export SLURM_CONF
    island_runtime_of "$n" || { ko "$n: its root's namespace is not up"; exit 1; }
    pins=$ARCH_LIB/ssh; [ -n "${ISLAND_ROOT:-}" ] && pins=$ARCH_LIB/islands/$n/ssh
    SSH=(ssh -i "$ARCH_LIB/ssh/id_ed25519" -p "${SSH_PORT:-2222}" -o UserKnownHostsFile="$pins/known_hosts" -o StrictHostKeyChecking=yes
         -o BatchMode=yes -o LogLevel=ERROR "$U@127.0.0.1")
    want=$(timeout 5 "${IN_ROOT[@]}" scontrol show nodes -o 2>/dev/null | grep -c '^NodeName=' || true)
    idle=$(timeout 5 "${IN_ROOT[@]}" sinfo -h -N -o '%N %T' 2>/dev/null | sort -u | grep -c ' idle$' || true)
    [ "$want" -gt 0 ] && [ "$idle" = "$want" ] && ok "$n: $idle/$want nodes idle" || ko "$n: $idle/$want nodes idle"

    tok=$(timeout 5 "${IN_ROOT[@]}" scontrol token username="$U" lifespan=60 | sed -n 's/^SLURM_JWT=//p')
    t0=$(now_ms)
    api=${SLURM_REST_API:-v0.0.38}
    script='"script":"#!/bin/bash\necho smoke $SLURM_JOB_ID on $SLURMD_NODENAME as $(id -un)\n"'
    job=$(printf '"name":"smoke-rest","partition":"debug","time_limit":2,"current_working_directory":"%s","standard_output":"%s/smoke-%s-%%j.out"' "$H" "$H" "$n")
    # v0.0.38: the script beside the job, environment an object; v0.0.40+: the script in it, an array
    if [ "$api" = v0.0.38 ]; then body="{$script,\"job\":{$job,\"environment\":{\"PATH\":\"/bin:/usr/bin\"}}}"
    else body="{\"job\":{$script,$job,\"environment\":[\"PATH=/bin:/usr/bin\"]}}"; fi
    r=$(curl -s --max-time 10 -H "X-SLURM-USER-NAME: $U" -H "X-SLURM-USER-TOKEN: $tok" -H 'Content-Type: application/json' \
          -X POST "$SLURM_REST_URL/slurm/$api/job/submit" -d "$body" || true)
    flat=$(printf '%s' "$r" | tr -d ' \n'); jid=""
    [[ $flat == *'"errors":[]'* ]] && jid=$(printf '%s' "$flat" | sed -n 's/.*"job_id":\([0-9]*\).*/\1/p')
    if [ -z "$jid" ]; then ko "$n: REST submit as $U: $(printf '%s' "$r" | tr -d '\n' | cut -c1-300)"
    elif wait_for "$TMO" done_ok "$jid"; then
      out="$H/smoke-$n-$jid.out"
      if grep -q "as $U\$" "$out" 2>/dev/null && [ "$(stat -c %U "$out")" = "$U" ]; then ok "$n: REST job $jid as $U COMPLETED in $(since_ms "$t0") s -> $out: $(cat "$out")"
      else ko "$n: REST job $jid completed but $out is missing or wrong"; fi
    else ko "$n: REST job $jid state '$(job_state "$jid")' after ${TMO}s"; fi

    if [ "${SKIP_SSH:-0}" != 1 ]; then
      t0=$(now_ms)
      j2=$(timeout 20 "${SSH[@]}" "SLURM_CONF=$SLURM_CONF sbatch --parsable --wrap true" 2>&1 || true)
      t1=$(since_ms "$t0")
      if [[ $j2 =~ ^[0-9]+$ ]] && wait_for "$TMO" done_ok "$j2"; then ok "$n: ssh sbatch as $U (port ${SSH_PORT:-2222}) -> job $j2 (ssh ${t1} s) COMPLETED"
      else ko "$n: ssh sbatch as $U: $j2 (state '$(job_state "${j2:-0}" || true)')"; fi
    fi
    exit "$fails"
  ) || fails=$((fails + $?))
done

if [ "${SKIP_DB:-0}" != 1 ]; then
  for db in archipelago archipelago_test; do
    if [ "$(timeout 5 psql -h 127.0.0.1 -p "${PGPORT:-55432}" -U postgres -d "$db" -Atc 'select 1' 2>/dev/null)" = 1 ]; then ok "postgres: $db answers"
    else ko "postgres: $db does not answer on ${PGPORT:-55432}"; fi
  done
  if [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-56379}" ping 2>/dev/null)" = PONG ]; then ok "redis: PONG"
  else ko "redis: no PONG on ${REDIS_PORT:-56379}"; fi
fi
[ "$fails" = 0 ] || die "$fails check(s) failed"
log "all checks passed"
