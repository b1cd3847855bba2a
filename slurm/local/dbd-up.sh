#!/usr/bin/env bash
# Accounting for ONE local island: a slurmdbd of its own, storing into the machine's shared
# project MariaDB (started here if it is not running). island-up.sh calls this when ACCOUNTING=1;
# run it by hand only to (re)start the slurmdbd of an island that is configured for it.
#
#   usage: slurm/local/dbd-up.sh <island> <index>
#   env:   DBD_CLEAN=1   drop the island's accounting database first (default 1: island-up.sh starts
#                        slurmctld from a clean state, job ids restart at 1, and an old database would
#                        hold a second record under every reused job id); island-up passes 0 with KEEP_STATE=1
#          TIME=15       seconds to wait for MariaDB / slurmdbd
#
# Why one slurmdbd PER ISLAND (not one for the machine): slurmrestd's /slurmdb/ endpoints hand the
# caller's JWT on to slurmdbd, which checks it with ITS jwt_key; every island signs with its own key.
#
# PORTS:  MariaDB 127.0.0.1:7815 (shared, TCP only: slurmdbd 22.05 has no socket-path option)
#         slurmdbd 127.0.0.1:7819 + 10*i   (i=0: 7819, i=5: 7869; the gap in island-up.sh's scheme;
#                  i=8, 9: 7719, 7729)
# An island in a root (island-up.sh ISLAND_ROOT=...) runs the root's slurmdbd in its namespace, storing
# into the HOST's MariaDB over TCP: one MariaDB per machine, and a datadir never opened by two MariaDB
# versions (a newer one upgrades it in place, and the older one cannot read it afterwards).
# PATHS:  /etc/archipelago/islands/<name>/slurmdbd.conf   slurm:slurm 0600 (slurmdbd refuses anything else)
#         /var/lib/archipelago/mariadb (data)  /run/archipelago/mariadb/{mariadbd.pid,mysqld.sock}
#         /var/lib/archipelago/mariadb-slurm.pw  password of the MariaDB user `slurm` (root 0600, made once)
#         /run/archipelago/islands/<name>/slurmdbd.pid   /var/log/archipelago/islands/<name>/slurmdbd.log
#         database slurm_acct_<name with - as _>
# Last line on stdout: DBD <name> port=<port> db=<database>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
LOG_TAG="dbd-up ${1:-?}"
require_root
[ $# -eq 2 ] || { sed -n '5,5p' "$0" >&2; exit 2; }
NAME=$1; IDX=$2
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$NAME'"
[[ $IDX =~ ^[0-9]$ ]] || die "index must be 0..9"
TMO=${TIME:-15}
island_runtime_of "$NAME" || die "island $NAME runs in a root whose namespace is not up: start it with island-up.sh"
"${IN_ROOT[@]}" sh -c 'command -v slurmdbd' >/dev/null && [ -x /usr/sbin/mariadbd ] || die "slurmdbd/mariadb missing: ACCOUNTING=1 slurm/local/install.sh"
MY_PORT=7815; DBD_PORT=$(( $(island_port_base "$IDX") + 2 ))
MY_DATA=$ARCH_LIB/mariadb; MY_RUN=$ARCH_RUN/mariadb; MY_SOCK=$MY_RUN/mysqld.sock; MY_PID=$MY_RUN/mariadbd.pid
PWF=$ARCH_LIB/mariadb-slurm.pw
ETC=$ARCH_ETC/islands/$NAME; LIB=$ARCH_LIB/islands/$NAME; LOGD=$ARCH_LOG/islands/$NAME; RUN=$ARCH_RUN/islands/$NAME
KEY=$LIB/jwt_hs256.key; DB=slurm_acct_${NAME//-/_}
t0=$(now_ms)
install -d -m 0755 "$ARCH_ETC" "$ARCH_LIB" "$ARCH_LOG" "$ARCH_RUN" "$ETC"
install -d -o slurm -g slurm -m 0755 "$LIB" "$LOGD" "$RUN"
[ -s "$KEY" ] || die "no JWT key $KEY: island-up.sh makes it (run dbd-up through ACCOUNTING=1 island-up.sh)"
my() { mariadb --protocol=socket -S "$MY_SOCK" -u root "$@"; }

# ---- 1. MariaDB (shared by every island's slurmdbd) -------------------------------------------
if ! pidfile_alive "$MY_PID" mariadbd; then
  install -d -o mysql -g mysql -m 0750 "$MY_DATA"; install -d -o mysql -g mysql -m 0755 "$MY_RUN"
  if [ ! -d "$MY_DATA/mysql" ]; then
    mariadb-install-db --user=mysql --datadir="$MY_DATA" --auth-root-authentication-method=socket \
      --skip-test-db >"$ARCH_LOG/mariadb-install.log" 2>&1 || { show_log_tail "$ARCH_LOG/mariadb-install.log"; die "mariadb-install-db failed"; }
    log "initialised $MY_DATA"
  fi
  # --no-defaults: the system's /etc/mysql config (port 3306, /run/mysqld) must not apply
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$MY_DATA" --bind-address=127.0.0.1 --port=$MY_PORT \
    --socket="$MY_SOCK" --pid-file="$MY_PID" --log-error="$ARCH_LOG/mariadb.log" \
    --innodb-flush-log-at-trx-commit=2 --skip-name-resolve </dev/null >/dev/null 2>&1 &
  disown $! 2>/dev/null || true
  wait_for "$TMO" my -e 'select 1' || { show_log_tail "$ARCH_LOG/mariadb.log"; die "MariaDB did not start"; }
  log "started MariaDB on 127.0.0.1:$MY_PORT (pid $(read_pidfile "$MY_PID"))"
fi
[ -s "$PWF" ] || { (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PWF"); }
chmod 0600 "$PWF"; PW=$(cat "$PWF")

# ---- 2. the island's database and slurmdbd -----------------------------------------------------
stop_pidfile "$RUN/slurmdbd.pid" slurmdbd 10 || die "old slurmdbd of $NAME survived"
[ "${DBD_CLEAN:-1}" = 1 ] && my -e "DROP DATABASE IF EXISTS \`$DB\`"
my <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB\`;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$PW';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$PW';
GRANT ALL ON \`$DB\`.* TO 'slurm'@'127.0.0.1';
SQL
cat >"$ETC/slurmdbd.conf.tmp" <<CONF
# Archipelago local island "$NAME": its slurmdbd. Generated by slurm/local/dbd-up.sh; edits are overwritten.
AuthType=auth/munge
# slurmrestd's /slurmdb/ endpoints pass the caller's JWT on: without these, HTTP 200 with error 1007
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$KEY
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MY_PORT
StorageUser=slurm
StoragePass=$PW
StorageLoc=$DB
LogFile=$LOGD/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
DebugLevel=info
CONF
# slurmdbd is fatal on a conf that is not 0600 or not owned by SlurmUser
chown slurm:slurm "$ETC/slurmdbd.conf.tmp"; chmod 0600 "$ETC/slurmdbd.conf.tmp"; mv -f "$ETC/slurmdbd.conf.tmp" "$ETC/slurmdbd.conf"
port_in_use "$DBD_PORT" && die "port $DBD_PORT already in use: $(ss -Hltnp "sport = :$DBD_PORT" | sed -n 1p)"
# slurmdbd has no -f: it reads slurmdbd.conf from the directory of SLURM_CONF (else /etc/slurm)
SLURM_CONF=$ETC/slurm.conf "${IN_ROOT[@]}" slurmdbd </dev/null >>"$LOGD/slurmdbd.stdout" 2>&1 || { show_log_tail "$LOGD/slurmdbd.log"; die "slurmdbd failed to start"; }
dbd_alive() { [ ! -s "$RUN/slurmdbd.pid" ] || pidfile_alive "$RUN/slurmdbd.pid" slurmdbd; }
wait_while "$TMO" dbd_alive port_open "$DBD_PORT" || { show_log_tail "$LOGD/slurmdbd.log"; die "slurmdbd not listening on $DBD_PORT"; }
log "slurmdbd of $NAME on 127.0.0.1:$DBD_PORT, database $DB ($(since_ms "$t0") s)"
echo "DBD $NAME port=$DBD_PORT db=$DB"
