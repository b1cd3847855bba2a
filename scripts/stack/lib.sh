# shellcheck shell=bash
# Shared helpers for the local Archipelago stack scripts (slurm/local/*, scripts/stack/*).
# Source it:  . "$(dirname "$0")/../../scripts/stack/lib.sh"
#
# Conventions
#  * Every wait is bounded by TIME, never by a loop count: a Slurm client talking to a dead
#    slurmctld blocks ~9 s per call, so "100 tries" can mean 15 minutes.
#  * Daemons are found by PID FILE only, never by process name (several islands, other people's
#    daemons and the system's own may run on the same machine).
#  * PID 1 on the dev VMs reaps orphans late: a killed daemon lingers as a zombie for 1-3 s and
#    `kill -0` still succeeds on it. `alive` treats state Z as dead.

# Project-owned roots (never the system's /etc/slurm, /var/lib/slurm, /run/slurm ...).
ARCH_ETC=${ARCH_ETC:-/etc/archipelago}
ARCH_LIB=${ARCH_LIB:-/var/lib/archipelago}
ARCH_LOG=${ARCH_LOG:-/var/log/archipelago}
ARCH_RUN=${ARCH_RUN:-/run/archipelago}

_ts() { date +%H:%M:%S; }
log()  { printf '%s [%s] %s\n' "$(_ts)" "${LOG_TAG:-stack}" "$*" >&2; }
warn() { printf '%s [%s] WARNING: %s\n' "$(_ts)" "${LOG_TAG:-stack}" "$*" >&2; }
die()  { printf '%s [%s] ERROR: %s\n' "$(_ts)" "${LOG_TAG:-stack}" "$*" >&2; exit 1; }

# debian_release [os-release file]: the host's Debian release ("12", "13"; VERSION_ID), '' if unknown.
debian_release() { ( . "${1:-/etc/os-release}" 2>/dev/null && echo "${VERSION_ID:-}" ) || true; }
# root_for_2411 [`slurmctld -V` output]: island-up.sh's ISLAND_ROOT for a SLURM 24.11 island here: ''
# where the host's own SLURM is 24.11 (apt's on Debian 13), else trixie (Debian 13's packages in a
# root, slurm/local/root-build.sh; how Debian 12 hosts and this project's tests run 24.11).
root_for_2411() {
  case ${1-$(slurmctld -V 2>/dev/null || true)} in
    *" 24.11."*) echo "" ;;
    *) echo trixie ;;
  esac
}

require_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

# now_ms: wall clock in milliseconds; since_ms <t0>: "1.234" seconds elapsed since t0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
since_ms() { local d=$(( $(now_ms) - $1 )); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }

# wait_for <seconds> <command...>: run the command every 0.1 s until it succeeds (its output is
# discarded) or <seconds> (integer or decimal) have passed. Returns 1 on timeout.
wait_for() {
  local secs=$1; shift
  local end=$(( $(date +%s%N) + $(printf '%.0f' "$(echo "$secs * 1000" | bc)") * 1000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

# wait_while <seconds> <guard> <command...>: like wait_for, but give up at once (return 2) when
# the guard command (e.g. "the daemon is still alive") fails: no point waiting out the clock.
wait_while() {
  local secs=$1 guard=$2; shift 2
  local end=$(( $(date +%s%N) + $(printf '%.0f' "$(echo "$secs * 1000" | bc)") * 1000000 ))
  until "$@" >/dev/null 2>&1; do
    "$guard" >/dev/null 2>&1 || return 2
    [ "$(date +%s%N)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

# alive <pid>: the process exists and is not a zombie.
alive() {
  local s
  [ -n "${1:-}" ] || return 1
  s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s#Z}" = "$s" ]
}

# pid_is <pid> <comm>: alive AND its command name is <comm> (guards against a recycled pid
# found in a stale pid file). comm is truncated to 15 chars by the kernel.
pid_is() {
  alive "$1" || return 1
  local c; c=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [ "$c" = "${2:0:15}" ]
}

# read_pidfile <file>: print the pid in <file> (first line, digits only) or nothing.
read_pidfile() {
  [ -s "$1" ] || return 0
  local p; p=$(sed -n '1{s/[^0-9]//g;p}' "$1" 2>/dev/null)
  [ -n "$p" ] && echo "$p"
  return 0
}

# pidfile_alive <file> [comm]: the daemon named by <file> is running (and is <comm> if given).
pidfile_alive() {
  local p; p=$(read_pidfile "$1"); [ -n "$p" ] || return 1
  if [ -n "${2:-}" ]; then pid_is "$p" "$2"; else alive "$p"; fi
}

# stop_pids <timeout_s> <pid...>: SIGTERM all at once, wait (bounded) for all to be gone or
# zombies, then SIGKILL the survivors and wait a little more. Returns 1 if one is still alive.
stop_pids() {
  local t=$1; shift
  local p live=()
  for p in "$@"; do alive "$p" && live+=("$p"); done
  [ ${#live[@]} -eq 0 ] && return 0
  kill -TERM "${live[@]}" 2>/dev/null || true
  _all_gone() { local q; for q in "${live[@]}"; do alive "$q" && return 1; done; return 0; }
  if ! wait_for "$t" _all_gone; then
    for p in "${live[@]}"; do alive "$p" && { warn "pid $p ignored SIGTERM for ${t}s: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; }; done
    wait_for 5 _all_gone || { warn "still alive after SIGKILL: $(for q in "${live[@]}"; do alive "$q" && printf '%s ' "$q"; done)"; return 1; }
  fi
  return 0
}

# stop_pidfile <file> [comm] [timeout_s=10]: stop the daemon named by <file> (only if it really
# is <comm> when given), then remove the pid file. Quiet no-op when not running.
stop_pidfile() {
  local f=$1 comm=${2:-} t=${3:-10} p
  p=$(read_pidfile "$f")
  if [ -n "$p" ]; then
    if [ -n "$comm" ] && ! pid_is "$p" "$comm"; then
      alive "$p" && warn "$f names pid $p which is not $comm: left alone"
    elif alive "$p"; then
      log "stopping ${comm:-pid} $p ($f)"
      stop_pids "$t" "$p" || return 1
    fi
  fi
  rm -f "$f"
  return 0
}

# port_open <port> [host=127.0.0.1]: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# port_in_use <port>: a listening TCP socket exists on that port (any address).
port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# show_log_tail <file> [lines=25]: for error reports
show_log_tail() {
  local f=$1 n=${2:-25}
  if [ -s "$f" ]; then printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2; tail -n "$n" "$f" >&2; printf -- '-----\n' >&2
  else printf -- '(%s is empty or missing)\n' "$f" >&2; fi
}

# raise_nofile: open-files limit to the hard limit (slurmctld / many slurmd need it)
raise_nofile() { ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true; }
