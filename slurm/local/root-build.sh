#!/usr/bin/env bash
# Build (once) a Debian root holding a SLURM release the host does not package, for islands that run
# in it (island-up.sh with ISLAND_ROOT=<release>). On a Debian 12 host, `trixie` gives SLURM 24.11
# beside the host's 22.05 without installing a single Debian 13 package on the host.
#
#   usage: slurm/local/root-build.sh [release]        (default trixie; the only one tested)
#   env:   DEBIAN_MIRROR   Debian archive to bootstrap from (default: the Debian URI of the host's own
#                          apt sources, else http://deb.debian.org/debian); security updates come from
#                          the same host's /debian-security
#          TIME=600        seconds a build may take (debootstrap + apt-get), after which it is abandoned
#          UPGRADE=1       also `apt-get upgrade` an existing root (security updates: only the first build and
#                          this apply them; islands running from it keep the old binaries until they restart)
#
# Where:   /var/lib/archipelago/roots/<release>/  (the root; kept, a second run is a 0.1 s check)
#          /var/log/archipelago/roots/<release>-{debootstrap,apt}.log
# What:    `debootstrap --variant=minbase`, then `apt-get install --no-install-recommends` of ROOT_PACKAGES
#          (Debian's own packages only), with a policy-rc.d that forbids every service start: nothing in
#          the root runs until island-up.sh starts it. Apt runs in a throwaway private mount namespace
#          (its /proc, /dev, /sys mounts never appear in the host's mount table).
# Stamp:   .archipelago-root in the root names the package set; a changed set is installed on the next
#          run, a half-built root (.partial) is thrown away and built again.
# Last line on stdout: ROOT <dir> release=<release> slurm=<version>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/stack/lib.sh"
LOG_TAG="root-build ${1:-trixie}"
require_root
REL=${1:-trixie}
[[ $REL =~ ^[a-z]+$ ]] || die "bad release name '$REL'"
TMO=${TIME:-600}
# slurmdbd + mysql plugin: accounting (MariaDB itself stays on the host, see dbd-up.sh);
# openssh-server: the island's own sshd for the ssh adapter (sshd-up.sh <island>)
ROOT_PACKAGES="slurmctld slurmd slurmrestd slurm-client slurmdbd slurm-wlm-mysql-plugin slurm-wlm-jwt-plugin munge openssh-server procps"
R=$ARCH_LIB/roots/$REL
STAMP=$R/.archipelago-root
LOGD=$ARCH_LOG/roots
t0=$(now_ms)
install -d -m 0755 "$ARCH_LIB" "$ARCH_LIB/roots" "$ARCH_LOG" "$LOGD"

installed_ok() {
  [ -s "$STAMP" ] && [ "$(sed -n 's/^packages=//p' "$STAMP")" = "$ROOT_PACKAGES" ] || return 1
  # shellcheck disable=SC2086
  [ "$(chroot "$R" dpkg-query -W -f '${db:Status-Abbrev}\n' $ROOT_PACKAGES 2>/dev/null | grep -c '^ii')" = "$(wc -w <<<"$ROOT_PACKAGES")" ]
}
report() { echo "ROOT $R release=$REL slurm=$(chroot "$R" dpkg-query -W -f '${Version}' slurmctld)"; }

# one builder at a time per root (infra-up and a test may both ask for it)
exec 9>"$ARCH_LIB/roots/$REL.lock"
flock -w "$TMO" 9 || die "another root-build.sh holds $ARCH_LIB/roots/$REL.lock"
if installed_ok && [ "${UPGRADE:-0}" != 1 ]; then log "root $R ready ($(since_ms "$t0") s)"; report; exit 0; fi

# ---- 1. debootstrap (first run only) ----------------------------------------------------------------
if [ -z "${DEBIAN_MIRROR:-}" ]; then
  DEBIAN_MIRROR=$( { sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
                     awk '$1 == "deb" { print $2 }' /etc/apt/sources.list 2>/dev/null; } | grep -E '^https?://.*/debian/?$' | sed -n 1p || true)
  DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi
DEBIAN_MIRROR=${DEBIAN_MIRROR%/}
SECURITY_MIRROR=${DEBIAN_MIRROR%/debian}/debian-security
UPGRADE=${UPGRADE:-0}
if [ ! -x "$R/usr/bin/apt-get" ]; then
  UPGRADE=1   # debootstrap takes the release as it shipped: updates come from -updates and -security
  command -v debootstrap >/dev/null || die "debootstrap missing: MODERN_SLURM=1 slurm/local/install.sh"
  [ -e "/usr/share/debootstrap/scripts/$REL" ] || die "this debootstrap does not know '$REL'"
  rm -rf "$R" "$R.partial"
  log "debootstrap --variant=minbase $REL from $DEBIAN_MIRROR (log $LOGD/$REL-debootstrap.log)"
  t1=$(now_ms)
  timeout "$TMO" debootstrap --variant=minbase "$REL" "$R.partial" "$DEBIAN_MIRROR" >"$LOGD/$REL-debootstrap.log" 2>&1 \
    || { show_log_tail "$LOGD/$REL-debootstrap.log"; die "debootstrap failed"; }
  cat >"$R.partial/etc/apt/sources.list" <<SRC
deb $DEBIAN_MIRROR $REL main
deb $DEBIAN_MIRROR $REL-updates main
deb $SECURITY_MIRROR $REL-security main
SRC
  # no package may start a service in the root (without it, openssh-server's postinst would start an
  # sshd on port 22 in the host's network namespace)
  printf '#!/bin/sh\n# archipelago slurm/local/root-build.sh: services start only through island-up.sh\nexit 101\n' \
    >"$R.partial/usr/sbin/policy-rc.d"
  chmod 0755 "$R.partial/usr/sbin/policy-rc.d"
  mv "$R.partial" "$R"
  log "debootstrap done in $(since_ms "$t1") s"
fi

# ---- 2. packages, in a private mount namespace ------------------------------------------------------
in_build_ns() {
  timeout "$TMO" unshare --mount --propagation private -- sh -ec '
    R=$1; shift
    mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"; mount -t sysfs sysfs "$R/sys"
    exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
    _ "$R" "$@"
}
t1=$(now_ms)
log "apt-get install in the root: $ROOT_PACKAGES (log $LOGD/$REL-apt.log)"
cp -f /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
APT=(apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
UPGRADE_CMD=(true); [ "$UPGRADE" = 1 ] && UPGRADE_CMD=(in_build_ns "${APT[@]}" upgrade)
# dpkg --configure -a: an earlier build killed mid-install leaves dpkg refusing to go on
# shellcheck disable=SC2086
{ in_build_ns dpkg --configure -a && in_build_ns "${APT[@]}" update && "${UPGRADE_CMD[@]}" && in_build_ns "${APT[@]}" install --no-install-recommends $ROOT_PACKAGES \
    && in_build_ns apt-get clean; } >"$LOGD/$REL-apt.log" 2>&1 || { show_log_tail "$LOGD/$REL-apt.log" 40; die "apt-get in the root failed"; }
printf 'packages=%s\nbuilt=%s\n' "$ROOT_PACKAGES" "$(date -u +%FT%TZ)" >"$STAMP"
installed_ok || die "packages not all installed after apt-get (see $LOGD/$REL-apt.log)"
log "packages installed in $(since_ms "$t1") s; root ready in $(since_ms "$t0") s"
report
