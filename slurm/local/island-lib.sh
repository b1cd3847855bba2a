# shellcheck shell=bash
# Island helpers shared by island-up.sh, island-down.sh, dbd-up.sh, sshd-up.sh and island-exec.sh
# (source it after scripts/stack/lib.sh): the port scheme, and where an island's SLURM runs: the
# host's own packages, or a Debian root (slurm/local/root-build.sh) entered through a private mount
# namespace.

# island_port_base <index>: slurmctld's port; SlurmdPort, slurmdbd and slurmrestd follow at +1, +2, +3.
# Indexes 0-7 count from 7817 (7817, 7827 ... 7887); 8 and 9 from 7717 (7717, 7727), because 7897+3
# would be local-a's first slurmd (7900). An island's sshd (islands in a root only) is 2223 + index.
island_port_base() { if [ "$1" -lt 8 ]; then echo $((7817 + 10 * $1)); else echo $((7717 + 10 * ($1 - 8))); fi; }

# An island in a root (island-up.sh with ISLAND_ROOT=<release>) owns one mount namespace, held open by
# a `sleep` whose pid is in <run>/ns.pid. In it, on top of the root:
#   /proc /sys /dev                      as on the host (/sys with its cgroup mounts)
#   /run                                 a tmpfs of its own (munged's socket, sshd's privsep dir)
#   /etc/hosts /etc/resolv.conf          the host's (same names, same resolver)
#   /home /tmp (ISLAND_ROOT_SHARED)      the host's: jobs write where the control plane reads
#   the island's etc/lib/log/run dirs    the host's, at the SAME paths: slurm.conf, JWT key, pid files
#                                        and logs mean the same file inside and out
# Nothing is mounted in the host's namespace; the mounts go when the last process in it ends.
# Processes inside are host processes (no pid or user namespace): pid files hold host pids, and
# users are the host's (island_root_sync_users copies their uid/gid into the root).

# island_ns_pid <pidfile>: the holder's pid if it is alive, a sleep, and in a mount namespace other
# than ours (a stale pid file may name a recycled pid).
island_ns_pid() {
  local p; p=$(read_pidfile "$1")
  [ -n "$p" ] && pid_is "$p" sleep && [ "$(readlink "/proc/$p/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && echo "$p"
  return 0
}

# island_runtime <root-dir or ""> <ns pidfile> [SLURM_CONF]: set IN_ROOT, the command prefix that runs a
# program where the island's SLURM lives: `"${IN_ROOT[@]}" sinfo`, `setsid "${IN_ROOT[@]}" slurmrestd ...`.
# Host: plain `env` (the caller's environment). Root: nsenter + chroot with a clean environment
# (PATH, LANG, HOME and the island's SLURM_CONF). Returns 1 if the root's namespace is not up.
island_runtime() {
  local root=$1 nsf=$2 conf=${3:-${SLURM_CONF:-}} h
  if [ -z "$root" ]; then IN_ROOT=(env); return 0; fi
  h=$(island_ns_pid "$nsf"); [ -n "$h" ] || return 1
  IN_ROOT=(nsenter -t "$h" -m -- chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root
           ${conf:+SLURM_CONF=$conf})
}

# island_runtime_of <island>: island_runtime from the island's env file (ISLAND_ROOT) and pid dir.
island_runtime_of() {
  local envf=$ARCH_ETC/islands/$1/env root
  root=$(sed -n 's/^ISLAND_ROOT=//p' "$envf" 2>/dev/null || true)
  island_runtime "$root" "$ARCH_RUN/islands/$1/ns.pid" "$ARCH_ETC/islands/$1/slurm.conf"
}

# island_ns_start <pidfile> <root> <dir...>: start the holder and mount the root's view (see top);
# each <dir> (the island's own directories) is bind-mounted at its own path. Prints the holder pid.
island_ns_start() {
  local nsf=$1 root=$2; shift 2
  local h d
  setsid unshare --mount --propagation private -- sleep infinity </dev/null >/dev/null 2>&1 &
  h=$!; disown "$h" 2>/dev/null || true
  # unshare execs sleep once the namespace exists; until then /proc/<h>/comm is unshare
  _ns_ready() { pid_is "$h" sleep && [ "$(readlink "/proc/$h/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; }
  wait_for 5 _ns_ready || { kill "$h" 2>/dev/null; die "mount namespace holder did not start"; }
  echo "$h" >"$nsf"
  # shellcheck disable=SC2086
  nsenter -t "$h" -m -- sh -ec '
    R=$1; shift
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"
    mount --rbind /dev "$R/dev"
    mount -t tmpfs -o mode=0755,size=64m tmpfs "$R/run"
    for f in /etc/hosts /etc/resolv.conf; do [ -e "$f" ] && { touch "$R$f"; mount --bind "$f" "$R$f"; }; done
    for d in "$@"; do mkdir -p "$R$d"; mount --rbind "$d" "$R$d"; done' \
    _ "$root" ${ISLAND_ROOT_SHARED:-/home /tmp} "$@" || die "mounting the root's view failed"
  echo "$h"
}

# island_ns_stop <pidfile> <timeout>: stop every process left in the holder's mount namespace (job
# steps, munged, anything), then the holder. Returns 1 if something survived SIGKILL.
island_ns_stop() {
  local nsf=$1 t=$2 h ns p pids=()
  h=$(island_ns_pid "$nsf")
  if [ -n "$h" ]; then
    # one find, not a readlink per process (a fork each: seconds on a busy machine); the link reads
    # "mnt:[<inode>]", whose brackets -lname would take for a glob
    ns=$(readlink "/proc/$h/ns/mnt" | sed 's/[][*?\\]/\\&/g')
    for p in $(find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$ns" 2>/dev/null | cut -d/ -f3); do
      [ "$p" != "$h" ] && pids+=("$p")
    done
    if [ ${#pids[@]} -gt 0 ]; then
      log "stopping ${#pids[@]} process(es) left in the island's namespace: $(for p in "${pids[@]}"; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)"
      stop_pids "$t" "${pids[@]}" || return 1
    fi
    stop_pids "$t" "$h" || return 1
  fi
  rm -f "$nsf"
}

# island_root_sync_users <root>: the host's people (uid 1000-59999), slurm and slurmrest get the same
# name, uid, gid, home, shell, group and password field in the root, so jobs run as the host's users
# and write files the host reads as theirs. Only accounts that differ are touched (a no-op run reads
# six files); one writer at a time per root.
island_root_sync_users() {
  local root=$1 name uid gid home shell group pw cur
  (
    flock -w 30 9 || die "cannot lock $root/.archipelago-users.lock"
    while IFS=: read -r name uid gid home shell group pw; do
      [ -n "$group" ] || group=$name
      cur=$(chroot "$root" getent group "$group" | cut -d: -f3 || true)
      if [ -z "$cur" ]; then chroot "$root" groupadd -g "$gid" "$group" || die "root $root: cannot add group $group ($gid)"
      elif [ "$cur" != "$gid" ]; then chroot "$root" groupmod -g "$gid" "$group" || die "root $root: group $group has gid $cur, cannot make it $gid"; fi
      if ! chroot "$root" getent passwd "$name" >/dev/null; then
        chroot "$root" useradd -M -u "$uid" -g "$gid" -d "$home" -s "$shell" "$name" || die "root $root: cannot add user $name ($uid)"
      else
        chroot "$root" usermod -u "$uid" -g "$gid" -d "$home" -s "$shell" "$name" || die "root $root: cannot give $name uid $uid"
      fi
      chroot "$root" usermod -p "$pw" "$name"
      log "root $root: account $name synced with the host (uid $uid, gid $gid)"
    done < <(comm -23 <(_accounts_in /etc | sort) <(_accounts_in "$root/etc" | sort))
  ) 9>"$root/.archipelago-users.lock"
}
# _accounts_in <etc dir>: name:uid:gid:home:shell:group:password of the accounts roots share with the host
_accounts_in() {
  awk -F: -v G="$1/group" -v S="$1/shadow" '
    BEGIN { while ((getline l < G) > 0) { split(l, f, ":"); grp[f[3]] = f[1] }
            while ((getline l < S) > 0) { split(l, f, ":"); pw[f[1]] = f[2] } }
    $1 == "slurm" || $1 == "slurmrest" || ($3 >= 1000 && $3 <= 59999) { print $1 ":" $3 ":" $4 ":" $6 ":" $7 ":" grp[$4] ":" pw[$1] }' "$1/passwd"
}

# slurm_version_in <prefix...>: "24.11.5" for the slurmctld the prefix runs (e.g. "${IN_ROOT[@]}").
slurm_version_in() { "$@" slurmctld -V 2>/dev/null | sed -n 's/^slurm[a-z-]* \([0-9][0-9.]*\).*/\1/p'; }
