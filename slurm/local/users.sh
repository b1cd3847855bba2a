#!/usr/bin/env bash
# POSIX accounts the local islands run jobs as (idempotent).
#
#   usage: slurm/local/users.sh
#   env:   USERS="alice bob archipelago"   accounts to ensure (default)
#
#   alice, bob    test/dev job owners (submit over REST with a per-user token, or over ssh)
#   archipelago   the control plane's read-only service account (reads queues, pings; never
#                 submits). "Read-only" is a convention of the control plane: in Slurm it is an
#                 ordinary unprivileged user, which already cannot touch other users' jobs.
#
# Each gets /home/<user> (mode 0750, so users cannot read each other's job output), shell
# /bin/bash (the ssh path runs `SLURM_CONF=... sbatch ...` through it) and password field '*':
# useradd leaves '!' (locked), and with `UsePAM no` sshd then refuses even public-key logins
# ("Permission denied (publickey)"); '*' means "no password, not locked".
# Jobs need the same uid on every node: here all nodes are this machine, so that is automatic.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/stack/lib.sh"
LOG_TAG=users
require_root
t0=$(now_ms)
for u in ${USERS:-alice bob archipelago}; do
  if ! id "$u" >/dev/null 2>&1; then
    useradd --create-home --home-dir "/home/$u" --shell /bin/bash --user-group "$u"
    log "created $u ($(id "$u"))"
  fi
  h=$(getent passwd "$u" | cut -d: -f6)
  [ -d "$h" ] || install -d -o "$u" -g "$(id -gn "$u")" "$h"
  chmod 0750 "$h"
  [ "$(getent shadow "$u" | cut -d: -f2)" = '*' ] || usermod -p '*' "$u"
done
log "users ok: ${USERS:-alice bob archipelago} ($(since_ms "$t0") s)"
