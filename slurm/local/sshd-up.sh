#!/usr/bin/env bash
# An sshd for the control plane's ssh adapter: 127.0.0.1:2222, its own config, host key and pid file
# (the system sshd, if any, is not touched).
#
#   usage: slurm/local/sshd-up.sh [island]
#   env:   SSH_PORT=2222   SSH_USERS="alice bob archipelago" (accounts that get the client key;
#          they must exist: slurm/local/users.sh)   TIME=10 (seconds to wait for the port)
#
# With <island>: the sshd of an island that runs in a Debian root (island-up.sh ISLAND_ROOT=..., which
# calls this itself), started inside the island's namespace so its users run the root's sbatch/squeue/
# sacct; port SSH_PORT from the island's env (2223 + index), config, host key, pin and pid file in the
# island's own directories (etc: sshd_config, ssh/ssh_host_ed25519_key; lib: ssh/host_key.sha256,
# ssh/known_hosts; run: sshd.pid; log: sshd.log). The client key is the machine's (below).
#
# Files:
#   /etc/archipelago/sshd_config                  the config (sftp on, no passwords, no PAM, no root)
#   /etc/archipelago/ssh/ssh_host_ed25519_key     host key, made once; the ONLY host key offered, so
#                                                 every client negotiates ed25519 and the pin matches
#   /var/lib/archipelago/ssh/host_key.sha256      its fingerprint `SHA256:<base64>` (as `ssh-keygen -lf`
#                                                 prints it): clients PIN it, no trust on first use
#   /var/lib/archipelago/ssh/known_hosts          the same pin for OpenSSH clients ([127.0.0.1]:2222)
#   /var/lib/archipelago/ssh/id_ed25519(.pub)     the control plane's client key (root 0600), made once,
#                                                 appended to ~<user>/.ssh/authorized_keys of SSH_USERS
#   /run/archipelago/sshd.pid                     pid file;  log: /var/log/archipelago/sshd.log
#
# Picking the island: no SetEnv/AcceptEnv. The caller prefixes every Slurm command with the
# island's config, which every user can read (0644):
#   ssh -i /var/lib/archipelago/ssh/id_ed25519 -p 2222 -o UserKnownHostsFile=/var/lib/archipelago/ssh/known_hosts \
#       alice@127.0.0.1 'SLURM_CONF=/etc/archipelago/islands/local-a/slurm.conf sbatch --parsable --wrap true'
# (the value to use is SLURM_CONF in /etc/archipelago/islands/<name>/env).
# Idempotent: an sshd already running from our pid file is restarted with the fresh config.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
. "$HERE/island-lib.sh"
ISL=${1:-}
LOG_TAG="sshd-up${ISL:+ $ISL}"
require_root
USERS_=${SSH_USERS:-alice bob archipelago}; TMO=${TIME:-10}
CK=$ARCH_LIB/ssh/id_ed25519
if [ -z "$ISL" ]; then
  PORT=${SSH_PORT:-2222}; IN_ROOT=(env)
  CFG=$ARCH_ETC/sshd_config; HK=$ARCH_ETC/ssh/ssh_host_ed25519_key
  PIN_DIR=$ARCH_LIB/ssh; PIDF=$ARCH_RUN/sshd.pid; LOGF=$ARCH_LOG/sshd.log
else
  [[ $ISL =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad island name '$ISL'"
  envf=$ARCH_ETC/islands/$ISL/env
  [ -n "$(sed -n 's/^ISLAND_ROOT=//p' "$envf" 2>/dev/null)" ] || die "$ISL does not run in a root (see $envf): the machine's sshd serves it"
  island_runtime_of "$ISL" || die "the namespace of $ISL is not up: island-up.sh starts this sshd itself"
  PORT=${SSH_PORT:-$(sed -n 's/^SSH_PORT=//p' "$envf")}
  CFG=$ARCH_ETC/islands/$ISL/sshd_config; HK=$ARCH_ETC/islands/$ISL/ssh/ssh_host_ed25519_key
  PIN_DIR=$ARCH_LIB/islands/$ISL/ssh; PIDF=$ARCH_RUN/islands/$ISL/sshd.pid; LOGF=$ARCH_LOG/islands/$ISL/sshd.log
fi
t0=$(now_ms)
"${IN_ROOT[@]}" test -x /usr/sbin/sshd || die "openssh-server missing: run slurm/local/install.sh"

install -d -m 0755 "$ARCH_ETC" "$ARCH_LIB" "$ARCH_LOG" "$ARCH_RUN"
install -d -m 0700 "$ARCH_ETC/ssh" "$ARCH_LIB/ssh" "$(dirname "$HK")" "$PIN_DIR"
"${IN_ROOT[@]}" install -d -m 0755 /run/sshd      # privilege-separation dir (systemd would make it)

# host key, made once
[ -s "$HK" ] || { ssh-keygen -q -t ed25519 -N '' -C "archipelago-sshd@$(hostname -s)" -f "$HK"; log "generated host key $HK"; }
chmod 0600 "$HK"; chmod 0644 "$HK.pub"
FP=$(ssh-keygen -lf "$HK.pub" | awk '{print $2}')
[[ $FP == SHA256:* ]] || die "cannot read the host key fingerprint"
printf '%s\n' "$FP" >"$PIN_DIR/host_key.sha256.tmp"; mv -f "$PIN_DIR/host_key.sha256.tmp" "$PIN_DIR/host_key.sha256"; chmod 0644 "$PIN_DIR/host_key.sha256"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$HK.pub")" >"$PIN_DIR/known_hosts"; chmod 0644 "$PIN_DIR/known_hosts"

# client key, made once; authorized for every job-owner account
[ -s "$CK" ] || { ssh-keygen -q -t ed25519 -N '' -C "archipelago-control-plane@$(hostname -s)" -f "$CK"; log "generated client key $CK"; }
chown root:root "$CK" "$CK.pub"; chmod 0600 "$CK"; chmod 0644 "$CK.pub"
PUB=$(cat "$CK.pub")
for u in $USERS_; do
  id "$u" >/dev/null 2>&1 || die "user $u does not exist: run slurm/local/users.sh"
  h=$(getent passwd "$u" | cut -d: -f6); g=$(id -gn "$u")
  install -d -m 0700 -o "$u" -g "$g" "$h/.ssh"
  ak=$h/.ssh/authorized_keys
  touch "$ak"; grep -qxF "$PUB" "$ak" || printf '%s\n' "$PUB" >>"$ak"
  chown "$u:$g" "$ak"; chmod 0600 "$ak"
  # StrictModes: the home must not be group/world writable
  [ -n "$(find "$h" -maxdepth 0 -perm /022)" ] && chmod go-w "$h"
done

cat >"$CFG.tmp" <<CFG
# Archipelago local sshd (generated by slurm/local/sshd-up.sh; edits are overwritten)
Port $PORT
ListenAddress 127.0.0.1
HostKey $HK
PidFile $PIDF
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel INFO
Subsystem sftp internal-sftp
# the control plane opens many short sessions quickly
MaxStartups 100:30:200
MaxSessions 50
CFG
"${IN_ROOT[@]}" /usr/sbin/sshd -t -f "$CFG.tmp" || die "sshd rejects the generated config $CFG.tmp"
mv -f "$CFG.tmp" "$CFG"; chmod 0644 "$CFG"

stop_pidfile "$PIDF" sshd 5 || die "could not stop the previous sshd"
port_in_use "$PORT" && die "port $PORT is in use by something else: $(ss -Hltnp "sport = :$PORT" | sed -n 1p)"
t1=$(now_ms)
# -E: log to a file (no syslog daemon here). sshd daemonizes and writes $PIDF.
# In a root the prefix's env -i leaves no SLURM_* behind; commands name their island with SLURM_CONF=...
"${IN_ROOT[@]}" /usr/sbin/sshd -f "$CFG" -E "$LOGF" </dev/null >/dev/null 2>&1 || { show_log_tail "$LOGF"; die "sshd failed to start"; }
wait_for "$TMO" port_open "$PORT" || { show_log_tail "$LOGF"; die "sshd not listening on 127.0.0.1:$PORT within ${TMO}s"; }
log "sshd up on 127.0.0.1:$PORT (pid $(read_pidfile "$PIDF")) in $(since_ms "$t1") s, total $(since_ms "$t0") s"
echo "SSHD 127.0.0.1:$PORT key=$CK host_key_sha256=$FP known_hosts=$PIN_DIR/known_hosts users=${USERS_// /,}"
