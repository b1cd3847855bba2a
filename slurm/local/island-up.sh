#!/usr/bin/env bash
# Bring up ONE local SLURM island (= one Slurm cluster) on this machine, next to any others: SLURM
# 22.05 (Debian 12's) or 24.11 (Debian 13's, natively on a Debian 13 host or from a Debian 13 root on a
# Debian 12 host: ISLAND_ROOT=trixie). The config dialect follows the SLURM version found.
#
#   usage: slurm/local/island-up.sh <name> <index>
#     <name>   island name = Slurm ClusterName; lowercase letters, digits, dashes (e.g. local-a)
#     <index>  0..9, picks the ports (below); two islands running at once need distinct indexes
#   env:  NODES=3            static slurmd per island (0..10), nodes <name>-n1 .. <name>-nN; 0 = a
#                            controller-only island that provider nodes join as dynamic nodes
#         NODE_CPUS=4        CPUs= per node (may exceed the real cores: SlurmdParameters=config_overrides)
#         NODE_MEM=2000      RealMemory= per node, MB
#         DEF_MEM_PER_CPU=256  DefMemPerCPU (without it a job gets the whole node's memory)
#         REST_THREADS=8     slurmrestd -t (keep the control plane's rest.connections <= this)
#         TIME=30            seconds to wait for nodes idle + slurmrestd answering
#         KEEP_STATE=1       keep StateSaveLocation (jobs and job ids survive); default: start fresh
#         KEEP_ON_FAILURE=1  leave the daemons running when the start fails (default: stop them)
#         DYN_NODES=32       how many DYNAMIC nodes may join at runtime (node-join.sh): MaxNodeCount =
#                            NODES + DYN_NODES (1..240; slurmctld must restart to change it)
#         SLURMD_TIMEOUT=300 SlurmdTimeout: a silent node is set DOWN after this many seconds
#         MIN_JOB_AGE=300    MinJobAge: seconds slurmctld keeps a finished job (a soak keeps it short)
#         MAX_JOB_COUNT=50000 MaxJobCount: jobs slurmctld holds at once
#         STATE_DIR=         StateSaveLocation (default <lib>/ctld, see FILES). slurmctld creates and
#                            deletes a directory and two files per job there; at hundreds of jobs/s
#                            ext4's inode allocator (recently_deleted scans) costs up to 0.7 cores,
#                            tmpfs almost nothing (benchmarks/soak uses /dev/shm). Not crash-safe
#                            on tmpfs: a machine reboot loses the island's queue.
#         GRES_TYPES=        GresTypes= (e.g. gpu) so joining nodes may declare --gres
#         DYN_NET_PREFIX=10.78  dynamic nodes of index i live in <prefix>.i.0/24 (change it if that
#                            range is in use on the machine)
#         ACCOUNTING=1       opt-in: a slurmdbd for this island (slurm/local/dbd-up.sh, started BEFORE
#                            slurmctld), jobacct_gather/linux, slurmrestd with openapi/dbv0.0.38 (24.11: openapi/slurmdbd)
#                            (sacct, /slurmdb/v0.0.38/jobs); default 0 = no accounting, as before
#         ACCT_TRES=         extra AccountingStorageTRES (default gres/gpu when GRES_TYPES has gpu; typed
#                            GPUs must be listed to be counted per model: gres/gpu,gres/gpu:a100)
#         ISLAND_ROOT=       run the island's SLURM from a Debian root instead of the host's packages:
#                            a release name (trixie = SLURM 24.11), built once by slurm/local/root-build.sh
#                            under /var/lib/archipelago/roots/; the island then has its own mount namespace
#                            (slurm/local/island-lib.sh), munged and sshd (127.0.0.1:2223+i, for the ssh
#                            adapter: the host's sshd would run the host's SLURM commands)
#
# SLURM VERSIONS: 22.05 (REST openapi/v0.0.38, dbv0.0.38) and 24.11 (openapi/slurmctld + slurmdbd, data
# parsers v0.0.40-v0.0.42; cgroup.conf CgroupPlugin=disabled, else slurmd wants a mounted cgroup fs).
# Anything else is refused. Dynamic nodes (node-join.sh) are tested on 22.05 only.
#
# PORT SCHEME (index i = 0..9; nothing overlaps, and none of it is a Slurm default 6817-6819/6820;
# i = 8, 9 take the same offsets from 7717 + 10*(i-8): slurmctld 7717/7727, slurmrestd 7720/7730, ...):
#     slurmctld   7817 + 10*i                 i=0: 7817   i=1: 7827   ...  i=7: 7887
#     slurmrestd  7820 + 10*i  (127.0.0.1)    i=0: 7820   i=1: 7830   ...  i=7: 7890
#     slurmd      7900 + 10*i + (k-1), k=1..NODES (<=10)
#                                             i=0: 7900-7909  i=1: 7910-7919 ... i=7: 7970-7979
#     SlurmdPort  7818 + 10*i  = the port of every DYNAMIC node (slurm/local/node-join.sh); each
#                 dynamic slurmd runs in its own network namespace with its own address
#                 10.78.i.N (N=10..249) behind bridge arch-br<i> (10.78.i.1), so they all share it
#                 (why: 22.05's slurmctld talks to a dynamic node only on SlurmdPort, see dyn-lib.sh)
#                                             i=0: 7818   i=1: 7828   ...  i=7: 7888
#     sshd        2223 + i  (ISLAND_ROOT islands only; 127.0.0.1)      i=8: 2231
#
# PATHS (all project-owned, so islands coexist and nothing touches a system slurm):
#     /etc/archipelago/islands/<name>/slurm.conf     0644: users read it (SLURM_CONF=... sbatch over ssh)
#     /etc/archipelago/islands/<name>/env            KEY=VALUE facts about the island (shell-sourceable)
#     /etc/archipelago/islands/<name>/island.json    one entry for /etc/archipelago/islands.json
#     /var/lib/archipelago/islands/<name>/jwt_hs256.key   32-byte HS256 key, slurm:slurm 0600 (kept)
#     /var/lib/archipelago/islands/<name>/{ctld,spool/<node>}   state (wiped unless KEEP_STATE=1)
#     /var/log/archipelago/islands/<name>/{slurmctld,slurmd-<node>,slurmrestd,jobcomp}.log
#     /run/archipelago/islands/<name>/{slurmctld,slurmd-<node>,slurmrestd}.pid (ISLAND_ROOT: also ns.pid, sshd.pid)
#
# Clients pick the island with SLURM_CONF: `SLURM_CONF=/etc/archipelago/islands/<name>/slurm.conf sinfo`
# (an ISLAND_ROOT island's commands run inside its root: slurm/local/island-exec.sh <name> sinfo).
# munged is shared by every host island (started here if it is not running; never stopped by
# island-down); an ISLAND_ROOT island has its own, in its namespace, stopped with it.
# An island already running under <name> is stopped first (island-down.sh), then started again.
# Last line on stdout, machine-readable:
#   ISLAND <name> rest=http://127.0.0.1:<port> conf=<slurm.conf> jwt=<key> ctld_port=<port> slurmd_ports=<a>-<b> nodes=<hostlist> dyn_port=<port> dyn_max=<n> slurm=<version> ssh_port=<port>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
LOG_TAG="island-up ${1:-?}"
require_root
# The daemons inherit this directory: one a caller later removes (a test's temporary directory, a
# git worktree) makes slurmrestd fail getcwd on its next request and die.
cd /

usage() { sed -n '3,5p' "$0" >&2; exit 2; }
[ $# -eq 2 ] || usage
NAME=$1; IDX=$2
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$NAME' (lowercase letters, digits, dashes; max 40)"
[[ $IDX =~ ^[0-9]$ ]] || die "index must be 0..9 (got '$IDX'), see PORT SCHEME in $0"
ROOT_REL=${ISLAND_ROOT:-}; [[ $ROOT_REL =~ ^[a-z]*$ ]] || die "ISLAND_ROOT must be a Debian release name (e.g. trixie)"
N=${NODES:-3}; CPUS=${NODE_CPUS:-4}; MEM=${NODE_MEM:-2000}; DEFMEM=${DEF_MEM_PER_CPU:-256}
THREADS=${REST_THREADS:-8}; TMO=${TIME:-30}; KEEP=${KEEP_STATE:-0}
DYN=${DYN_NODES:-32}; SDTMO=${SLURMD_TIMEOUT:-300}; GRES_TYPES=${GRES_TYPES:-}
ACCT=${ACCOUNTING:-0}; [[ $ACCT =~ ^[01]$ ]] || die "ACCOUNTING must be 0 or 1"
ACCT_TRES=${ACCT_TRES-}; [ -z "$ACCT_TRES" ] && [[ ,$GRES_TYPES, == *,gpu,* ]] && ACCT_TRES=gres/gpu
[[ $ACCT_TRES =~ ^[a-z0-9/:,_-]*$ ]] || die "ACCT_TRES: comma-separated TRES names (e.g. gres/gpu,gres/gpu:a100)"
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -le 10 ] || die "NODES must be 0..10 (10 slurmd ports per index)"
[ "$N" -gt 0 ] || [ "${DYN_NODES:-32}" != 0 ] || die "NODES=0 needs DYN_NODES > 0: an island with no node at all"
[[ $DYN =~ ^[0-9]+$ ]] && [ "$DYN" -le 240 ] || die "DYN_NODES must be 0..240 (one /24 per island, see node-join.sh)"
[[ $GRES_TYPES =~ ^[a-z0-9,]*$ ]] || die "GRES_TYPES: comma-separated lowercase names (e.g. gpu)"
MINAGE=${MIN_JOB_AGE:-300}; MAXJOBS=${MAX_JOB_COUNT:-50000}
for v in CPUS MEM DEFMEM THREADS SDTMO MINAGE MAXJOBS; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"; done

PORT_BASE=$(island_port_base "$IDX")
CTLD_PORT=$PORT_BASE; REST_PORT=$((PORT_BASE + 3))
SD_FIRST=$((7900 + 10 * IDX)); SD_LAST=$((SD_FIRST + N - 1))
DYN_PREFIX=${DYN_NET_PREFIX:-10.78}
[[ $DYN_PREFIX =~ ^[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "DYN_NET_PREFIX must be two octets, e.g. 10.78"
DYN_PORT=$((PORT_BASE + 1)); DYN_NET=$DYN_PREFIX.$IDX; DYN_BRIDGE=arch-br$IDX
DBD_PORT=$((PORT_BASE + 2))   # slurm/local/dbd-up.sh (ACCOUNTING=1 only)
SSH_PORT_ISLAND=$((2223 + IDX))  # its own sshd (ISLAND_ROOT only): slurm/local/sshd-up.sh <name>
NODELIST="${NAME}-n[1-${N}]"; [ "$N" -eq 1 ] && NODELIST="${NAME}-n1"; [ "$N" -eq 0 ] && NODELIST=""
ETC=$ARCH_ETC/islands/$NAME; LIB=$ARCH_LIB/islands/$NAME; LOGD=$ARCH_LOG/islands/$NAME; RUN=$ARCH_RUN/islands/$NAME
CONF=$ETC/slurm.conf; KEY=$LIB/jwt_hs256.key
STATE=${STATE_DIR:-$LIB/ctld}
[[ $STATE =~ ^/[A-Za-z0-9._/-]+$ ]] || die "STATE_DIR must be an absolute path"
REST_URL="http://127.0.0.1:$REST_PORT"
SSH_PORT=2222; SSH_PIN=$ARCH_LIB/ssh/host_key.sha256            # the machine's sshd (sshd-up.sh)
[ -n "$ROOT_REL" ] && { SSH_PORT=$SSH_PORT_ISLAND; SSH_PIN=$ARCH_LIB/islands/$NAME/ssh/host_key.sha256; }
HOST=$(hostname -s)
export SLURM_CONF=$CONF
t0=$(now_ms)

# ---- 0. an island with this name already up? stop it (restart semantics) -----------------------
if ls "$RUN"/*.pid >/dev/null 2>&1; then
  log "island $NAME has pid files: stopping it first"
  "$HERE/island-down.sh" "$NAME" || die "could not stop the running island $NAME"
fi
# ... and nobody else may hold our ports (another island with the same index, a stray daemon)
for p in $CTLD_PORT $REST_PORT $DYN_PORT $(seq "$SD_FIRST" "$SD_LAST") ${ROOT_REL:+$SSH_PORT_ISLAND}; do
  port_in_use "$p" && die "port $p is already in use (index $IDX taken by another island?): $(ss -Hltnp "sport = :$p" | sed -n 1p)"
done

# ---- 1. users, dirs, key ---------------------------------------------------------------------------
ROOT=""
if [ -n "$ROOT_REL" ]; then
  ROOT=$(bash "$HERE/root-build.sh" "$ROOT_REL" | sed -n 's/^ROOT \([^ ]*\) .*/\1/p')
  [ -n "$ROOT" ] || die "root-build.sh $ROOT_REL failed"
fi
# the host's slurm user owns the island's state either way: a root gets the same uid (island_root_sync_users)
id slurm >/dev/null 2>&1 || die "user slurm missing: run slurm/local/install.sh"
id slurmrest >/dev/null 2>&1 || { useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin slurmrest; log "created system user slurmrest"; }
install -d -m 0755 "$ARCH_ETC" "$ARCH_ETC/islands" "$ETC" "$ARCH_LIB" "$ARCH_LIB/islands" "$ARCH_LOG" "$ARCH_LOG/islands" "$ARCH_RUN" "$ARCH_RUN/islands"
install -d -o slurm -g slurm -m 0755 "$LIB" "$LOGD" "$RUN"
install -d -o slurm -g slurm -m 0700 "$STATE"
install -d -o root -g root -m 0755 "$LIB/spool"          # slurmd runs as root
if [ "$KEEP" != 1 ]; then
  rm -rf "${STATE:?}/"* "${LIB:?}/spool/"*                # fresh: no old jobs, job ids restart at 1
  for f in "$LOGD"/*.log; do [ -e "$f" ] && mv -f "$f" "$f.1"; done   # one old generation kept
  rm -rf "${ETC:?}/nodes"                                  # dynamic nodes are forgotten too
fi
for k in $(seq 1 "$N"); do install -d -m 0755 "$LIB/spool/${NAME}-n$k"; done
if [ ! -s "$KEY" ]; then
  (umask 077; head -c 32 /dev/urandom >"$KEY")
  log "generated JWT HS256 key $KEY"
fi
chown slurm:slurm "$KEY"; chmod 0600 "$KEY"

fail() {  # fail <message> <log...>
  local msg=$1; shift
  local f; for f in "$@"; do show_log_tail "$f"; done
  if [ "${KEEP_ON_FAILURE:-0}" != 1 ]; then KEEP_STATE=1 "$HERE/island-down.sh" "$NAME" >/dev/null 2>&1 || true; fi
  die "$msg"
}

# ---- 1b. where SLURM runs: the host, or the root's own mount namespace; its version picks the dialect
if [ -n "$ROOT" ]; then
  island_root_sync_users "$ROOT"
  ns_dirs=("$ETC" "$LIB" "$LOGD" "$RUN"); [[ $STATE == "$LIB"/* ]] || ns_dirs+=("$STATE")
  holder=$(island_ns_start "$RUN/ns.pid" "$ROOT" "${ns_dirs[@]}") || fail "no mount namespace for $ROOT"
  log "mount namespace for root $ROOT: holder pid $holder"
fi
island_runtime "$ROOT" "$RUN/ns.pid" "$CONF" || fail "the island's mount namespace is not up"
SLURM_VERSION=$(slurm_version_in "${IN_ROOT[@]}")
# slurmrestd's plugins: the /slurmdb/ ones only with accounting (without slurmdbd they are fatal in
# 22.05 and make 24.11's slurmrestd die with "Failure loading plugin path bindings")
case $SLURM_VERSION in
  22.05.*)
    REST_APIS=v0.0.38; REST_API=v0.0.38; PING_UP='"ping" *: *"UP"'
    REST_PLUGINS=openapi/v0.0.38; [ "$ACCT" = 1 ] && REST_PLUGINS=openapi/v0.0.38,openapi/dbv0.0.38 ;;
  24.11.*)
    # data parsers v0.0.40-42 (all loaded by default) each serve /slurm/<v>/ and /slurmdb/<v>/
    REST_APIS=v0.0.40,v0.0.41,v0.0.42; REST_API=v0.0.42; PING_UP='"responding" *: *true'
    REST_PLUGINS=openapi/slurmctld; [ "$ACCT" = 1 ] && REST_PLUGINS=openapi/slurmctld,openapi/slurmdbd ;;
  "") fail "no slurmctld found ${ROOT:+in $ROOT }(run slurm/local/install.sh)" ;;
  *) fail "SLURM $SLURM_VERSION is not supported by these scripts (22.05 and 24.11 are)" ;;
esac
in_root() { "${IN_ROOT[@]}" "$@"; }

# ---- 2. slurm.conf ----------------------------------------------------------------------------------
ACCT_CONF="JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none"
if [ "$ACCT" = 1 ]; then
  ACCT_CONF="# accounting (ACCOUNTING=1): this island's own slurmdbd, see slurm/local/dbd-up.sh
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# the job comment carries the control plane's job tag: without this flag slurmdbd drops it
AccountingStoreFlags=job_comment${ACCT_TRES:+
AccountingStorageTRES=$ACCT_TRES}"
fi
cat >"$CONF.tmp" <<CONF
# Archipelago local island "$NAME" (index $IDX). Generated by slurm/local/island-up.sh; edits are overwritten.
# Clients: SLURM_CONF=$CONF <sinfo|sbatch|squeue|scontrol ...>
ClusterName=$NAME
SlurmctldHost=${HOST}(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$KEY
StateSaveLocation=$STATE
# %n = node name: expanded because Debian's slurmd is built with MULTIPLE_SLURMD
SlurmdSpoolDir=$LIB/spool/%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOGD/slurmctld.log
SlurmdLogFile=$LOGD/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
$ACCT_CONF
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGD/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without DefMemPerCPU a job with no --mem gets the whole node's memory: one job per node
DefMemPerCPU=$DEFMEM
SchedulerType=sched/backfill
# default batch_sched_delay (3 s) adds 2-3 s to every sbatch; 0 = next ~1 s scheduler tick
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=$MINAGE
MaxJobCount=$MAXJOBS
MaxArraySize=10001
MpiDefault=none
MailProg=/bin/true
# nodes may claim more CPUs/memory than the machine has (several slurmd share a few cores)
SlurmdParameters=config_overrides
SlurmdTimeout=$SDTMO
${GRES_TYPES:+GresTypes=$GRES_TYPES
}# --- dynamic nodes (22.05: slurm/local/node-join.sh = \`slurmd -Z\`, node-leave.sh = \`scontrol delete\`) ---
# room for NODES static + DYN_NODES dynamic nodes; without it: "Unable to add node '<n>', node table is full"
MaxNodeCount=$((N + DYN))
# slurmctld reaches a dynamic node ONLY on SlurmdPort (a Port= given to \`scontrol create\` is ignored
# by the RPC agent in 22.05), hence one network namespace + address per dynamic node, all on this port
SlurmdPort=$DYN_PORT
# 22.05 dynamic nodes: no fanout through slurmd (they do not know each other)
TreeWidth=65533
# a dynamic node's slurmd reads a copy of this file with SlurmctldHost=<host>($DYN_NET.1)
DebugFlags=NO_CONF_HASH
${NODELIST:+NodeName=${NAME}-n[1-${N}] NodeHostname=${HOST} NodeAddr=127.0.0.1 Port=[${SD_FIRST}-${SD_LAST}] CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
}# Nodes=ALL: the static nodes AND every dynamic node that joins later
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=ALL Default=NO MaxTime=60 State=UP
CONF
mv -f "$CONF.tmp" "$CONF"; chmod 0644 "$CONF"
# 24.11's slurmd loads a cgroup plugin even with proctrack/linuxproc and dies without a cgroup fs
# mounted the way it wants; 22.05 has no "disabled" and manages with the host's cgroup v1 tmpfs
if [ "${SLURM_VERSION%%.*}" -ge 23 ]; then
  printf '# generated by slurm/local/island-up.sh: no cgroups (task/none, proctrack/linuxproc)\nCgroupPlugin=disabled\n' >"$ETC/cgroup.conf"
  chmod 0644 "$ETC/cgroup.conf"
else
  rm -f "$ETC/cgroup.conf"
fi

cat >"$ETC/env.tmp" <<ENV
# Archipelago local island facts (generated by slurm/local/island-up.sh). Shell-sourceable.
# Slurm commands for this island, locally or over ssh, must be prefixed: SLURM_CONF=\$SLURM_CONF sbatch ...
ISLAND_NAME=$NAME
ISLAND_INDEX=$IDX
SLURM_CONF=$CONF
SLURM_REST_URL=$REST_URL
SLURM_JWT_KEY_FILE=$KEY
SLURMCTLD_PORT=$CTLD_PORT
SLURMD_PORTS=$SD_FIRST-$SD_LAST
SLURMRESTD_THREADS=$THREADS
# slurmrestd -s (a suite that stops and starts slurmrestd again uses the same plugins)
SLURMRESTD_PLUGINS=$REST_PLUGINS
ISLAND_NODES=$NODELIST
ISLAND_PARTITIONS=debug,short
ACCOUNTING=$ACCT
$([ "$ACCT" = 1 ] && echo "SLURMDBD_PORT=$DBD_PORT")
# SLURM release, and the REST API versions its slurmrestd serves (REST_API: the newest)
SLURM_VERSION=$SLURM_VERSION
SLURM_REST_APIS=$REST_APIS
SLURM_REST_API=$REST_API
# empty: the host's SLURM; else the Debian root it runs from (slurm/local/island-exec.sh enters it)
ISLAND_ROOT=$ROOT
SSH_PORT=$SSH_PORT
# dynamic nodes (slurm/local/node-join.sh / node-leave.sh)
SLURMD_DYN_PORT=$DYN_PORT
DYN_MAX=$DYN
DYN_NET=$DYN_NET
DYN_GATEWAY=$DYN_NET.1
DYN_BRIDGE=$DYN_BRIDGE
SLURMCTLD_HOST=$HOST
ENV
mv -f "$ETC/env.tmp" "$ETC/env"; chmod 0644 "$ETC/env"

# one islands.json entry (see src/adapters/config/islands-file.ts); the ssh part matches slurm/local/sshd-up.sh
# (an island in a root has its own sshd, host key and pin: sshd-up.sh <name>)
cat >"$ETC/island.json.tmp" <<JSON
{
  "name": "$NAME",
  "adapter": "rest",
  "readUser": "archipelago",
  "rest": { "url": "$REST_URL", "jwtKeyFile": "$KEY", "connections": $THREADS },
  "ssh": {
    "host": "127.0.0.1",
    "port": $SSH_PORT,
    "privateKeyFile": "$ARCH_LIB/ssh/id_ed25519",
    "hostKeySha256File": "$SSH_PIN",
    "commandEnvironment": { "SLURM_CONF": "$CONF" }
  },
  "partitions": ["debug", "short"],
  "defaultPartition": "debug",
  "workdirRoots": ["/home/{user}"],
  "files": "local",
  "accounting": $([ "$ACCT" = 1 ] && echo true || echo false)
}
JSON
mv -f "$ETC/island.json.tmp" "$ETC/island.json"; chmod 0644 "$ETC/island.json"

# ---- 3. munged (shared by all host islands; an island in a root has its own, in its namespace) -----
munge_ok() { in_root sh -c 'munge -n </dev/null | unmunge' >/dev/null 2>&1; }
if ! munge_ok; then
  # systemd's RuntimeDirectory= would make /run/munge
  in_root sh -ec '[ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 0600 /etc/munge/munge.key; }
    install -d -o munge -g munge -m 0755 /run/munge'
  # a stale pid file of a dead munged makes munged refuse to start
  p=$(in_root cat /run/munge/munged.pid 2>/dev/null | tr -dc 0-9 || true); { [ -n "$p" ] && alive "$p"; } || in_root rm -f /run/munge/munged.pid
  in_root runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1 || true
  wait_for 5 munge_ok || fail "munged did not start" "$ROOT/var/log/munge/munged.log"
  log "started munged${ROOT:+ in the namespace of $NAME} (pid $(in_root cat /run/munge/munged.pid))"
fi

# ---- 4. daemons -----------------------------------------------------------------------------------
raise_nofile
# ---- 3b. slurmdbd (ACCOUNTING=1) BEFORE slurmctld: a slurmctld starting from a clean state without
# its slurmdbd dies ("You are running with a database but for some reason we have no TRES from it")
if [ "$ACCT" = 1 ]; then
  DBD_CLEAN=$([ "$KEEP" = 1 ] && echo 0 || echo 1) "$HERE/dbd-up.sh" "$NAME" "$IDX" >/dev/null || fail "slurmdbd of $NAME failed to start"
fi
t1=$(now_ms)
in_root slurmctld -f "$CONF" </dev/null >>"$LOGD/slurmctld.stdout" 2>&1 || fail "slurmctld failed to start" "$LOGD/slurmctld.log" "$LOGD/slurmctld.stdout"
for k in $(seq 1 "$N"); do
  in_root slurmd -f "$CONF" -N "${NAME}-n$k" </dev/null >>"$LOGD/slurmd.stdout" 2>&1 || fail "slurmd ${NAME}-n$k failed to start" "$LOGD/slurmd-${NAME}-n$k.log" "$LOGD/slurmd.stdout"
done
# slurmrestd does not daemonize: run it in its own session (a kill of the caller's process group
# must not take it down), stdio detached from the caller. It refuses to run as root / SlurmUser:
# it binds as root, then setuid()s to slurmrest. SLURM_JWT=daemon is required with rest_auth/jwt.
# (In a root, RPID is still slurmrestd's pid: nsenter, chroot and env each exec the next.)
setsid "${IN_ROOT[@]}" SLURM_JWT=daemon slurmrestd -f "$CONF" -u slurmrest -g slurmrest -a rest_auth/jwt \
  -s "$REST_PLUGINS" -t "$THREADS" "127.0.0.1:$REST_PORT" </dev/null >>"$LOGD/slurmrestd.log" 2>&1 &
RPID=$!
echo "$RPID" >"$RUN/slurmrestd.pid"
disown "$RPID" 2>/dev/null || true

# ---- 5. wait: every node up, slurmrestd answering an authenticated ping --------------------------
ctld_alive() { pidfile_alive "$RUN/slurmctld.pid" slurmctld; }
nodes_ready() {
  ctld_alive || return 1
  [ "$N" -eq 0 ] && return 0
  local want=idle; [ "$KEEP" = 1 ] && want='idle|mixed|allocated|completing'
  # static nodes only: dynamic ones kept in the state (KEEP_STATE=1) stay down until node-join.sh
  local ok; ok=$(timeout 5 "${IN_ROOT[@]}" sinfo -h -N -n "$NODELIST" -o '%N %T' 2>/dev/null | sort -u | grep -Ec " ($want)\$" || true)
  [ "$ok" = "$N" ]
}
# the daemons must stay alive while we wait: a dead one ends the wait at once
daemons_alive() {
  local f=$RUN/slurmctld.pid k
  # slurmctld writes its pid file a moment after forking: absent = still starting
  [ -s "$f" ] && ! pidfile_alive "$f" slurmctld && return 1
  for k in $(seq 1 "$N"); do f=$RUN/slurmd-${NAME}-n$k.pid; [ -s "$f" ] && ! pidfile_alive "$f" slurmd && return 1; done
  return 0
}
if ! wait_while "$TMO" daemons_alive nodes_ready; then
  echo "sinfo:" >&2; timeout 5 "${IN_ROOT[@]}" sinfo -N 2>&1 | sed 's/^/  /' >&2 || true
  logs=("$LOGD/slurmctld.log"); for k in $(seq 1 "$N"); do pidfile_alive "$RUN/slurmd-${NAME}-n$k.pid" slurmd || logs+=("$LOGD/slurmd-${NAME}-n$k.log"); done
  ctld_alive || logs+=("$LOGD/slurmctld.stdout")
  fail "nodes of $NAME not all ready within ${TMO}s (or a daemon died)" "${logs[@]}"
fi
t2=$(now_ms)
# KEEP_STATE=1: dynamic nodes come back from the saved state as IDLE although island-down stopped
# their slurmd (and removed their netns); jobs would be sent there and fail (JobLaunchFailure) until
# SlurmdTimeout. Set them DOWN now; node-join.sh brings each one back.
if [ "$KEEP" = 1 ]; then
  dyn_nodes=$(timeout 5 "${IN_ROOT[@]}" scontrol show nodes -o 2>/dev/null | awk '/State=[^ ]*DYNAMIC/ { sub(/^NodeName=/, "", $1); print $1 }' | paste -sd, - || true)
  if [ -n "$dyn_nodes" ]; then
    timeout 10 "${IN_ROOT[@]}" scontrol update NodeName="$dyn_nodes" State=DOWN Reason="island restarted: rejoin with node-join.sh" ||
      warn "could not set the dynamic nodes $dyn_nodes DOWN"
    log "dynamic node(s) from the saved state set DOWN until they rejoin: $dyn_nodes"
  fi
fi
rest_ping() {
  pid_is "$RPID" slurmrestd || return 1
  local tok; tok=$(timeout 5 "${IN_ROOT[@]}" scontrol token username=root lifespan=60 2>/dev/null | sed -n 's/^SLURM_JWT=//p')
  [ -n "$tok" ] || return 1
  curl -sf --max-time 3 -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $tok" "$REST_URL/slurm/$REST_API/ping/" \
    | grep -Eq "$PING_UP"
}
left=$(( TMO * 1000 - ($(now_ms) - t1) )); [ "$left" -lt 3000 ] && left=3000
# alive, not pid_is: until the exec chain reaches slurmrestd, the pid's name is setsid/nsenter/env
restd_alive() { alive "$RPID"; }
wait_while "$(echo "scale=1; $left / 1000" | bc)" restd_alive rest_ping || fail "slurmrestd on $REST_URL not answering (or it died)" "$LOGD/slurmrestd.log"
t3=$(now_ms)
# ---- 6. an island in a root: its own sshd, so the ssh adapter runs the root's sbatch/squeue/sacct
if [ -n "$ROOT" ]; then
  SSH_PORT=$SSH_PORT "$HERE/sshd-up.sh" "$NAME" >/dev/null || fail "sshd of $NAME failed to start" "$LOGD/sshd.log"
fi

log "up: $N node(s) ready in $(( (t2 - t1) ))ms, slurmrestd answering after $(( (t3 - t1) ))ms, total $(since_ms "$t0") s"
timeout 5 "${IN_ROOT[@]}" sinfo 2>&1 | sed 's/^/  /' >&2 || true
echo "ISLAND $NAME rest=$REST_URL conf=$CONF jwt=$KEY ctld_port=$CTLD_PORT slurmd_ports=$SD_FIRST-$SD_LAST nodes=$NODELIST dyn_port=$DYN_PORT dyn_max=$DYN slurm=$SLURM_VERSION ssh_port=$SSH_PORT"
