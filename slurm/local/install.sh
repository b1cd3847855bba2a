#!/usr/bin/env bash
# Install what the local Archipelago stack needs on a FRESH Debian 12 or 13 machine (root, apt-get only).
#
#   usage: slurm/local/install.sh
#   env:   APT_LISTS_MAX_AGE_MIN  skip `apt-get update` if lists are younger than this (default 1440)
#          APT_LOCK_TIMEOUT       seconds to wait for the dpkg lock (default 300)
#          ACCOUNTING=1           also slurmdbd + MariaDB (slurm/local/dbd-up.sh; islands with ACCOUNTING=1)
#          BROWSER=1              also headless Chromium and a font for the web view test
#          MODERN_SLURM=1         also what a SLURM 24.11 island needs: nothing more on Debian 13 (its own
#                                 SLURM is 24.11), debootstrap on Debian 12 (slurm/local/root-build.sh
#                                 then makes a Debian 13 root; island-up.sh ISLAND_ROOT=trixie runs it)
#
# The host's release picks the versions: Debian 12 = SLURM 22.05 + PostgreSQL 15, Debian 13 = SLURM
# 24.11 + PostgreSQL 17 (island-up.sh speaks both SLURM dialects). Other releases are refused.
#
# Fast no-op (dpkg-query only) when everything is present. No recommends: e.g. the slurm-wlm
# metapackage would pull hdf5/influxdb/rrd/ipmi plugins a test cluster never uses.
# No service is started by the install: without systemd, maintainer scripts would otherwise try
# sysv init scripts (system sshd on :22, redis on :6379, postgres on :5432 ...). We put a
# policy-rc.d that says "no" in place for the duration of the install when none exists.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/stack/lib.sh"
LOG_TAG=install
require_root

DEBIAN=$(debian_release)
case $DEBIAN in
  12) PG=15 ;;
  13) PG=17 ;;
  *) die "Debian ${DEBIAN:-?} is not supported: Debian 12 (bookworm) and 13 (trixie) are" ;;
esac
PKGS=(slurmctld slurmd slurm-client slurmrestd munge slurm-wlm-jwt-plugin
      openssh-server openssh-client redis-server redis-tools postgresql-$PG postgresql-client-$PG
      curl bc iproute2 procps)
# accounting (sacct, /slurmdb/...): slurmdbd stores into MariaDB through the mysql plugin
[ "${ACCOUNTING:-0}" = 1 ] && PKGS+=(slurmdbd slurm-wlm-mysql-plugin mariadb-server mariadb-client)
[ "${MODERN_SLURM:-0}" = 1 ] && [ "$DEBIAN" = 12 ] && PKGS+=(debootstrap)
# the web view's browser test (test/integration/web-ui.test.ts) drives Debian's headless Chromium (one fixed font: its screenshot check)
[ "${BROWSER:-0}" = 1 ] && PKGS+=(chromium fonts-dejavu-core)
t0=$(now_ms)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [ "${st:0:2}" = "ii" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "all ${#PKGS[@]} packages present (checked in $(since_ms "$t0") s)"
  exit 0
fi
log "missing: ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -q -y -o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-300}" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

lists_fresh() {
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin "-${APT_LISTS_MAX_AGE_MIN:-1440}" 2>/dev/null | sed -n 1p)" ]
}

# keep packages from starting services during the install (only if no policy is set already)
PRC=/usr/sbin/policy-rc.d; made_prc=0
if [ ! -e "$PRC" ]; then
  printf '#!/bin/sh\n# temporary, from archipelago slurm/local/install.sh\nexit 101\n' >"$PRC"; chmod 0755 "$PRC"; made_prc=1
fi
cleanup() { [ "$made_prc" = 1 ] && rm -f "$PRC"; return 0; }
trap cleanup EXIT

updated=0
if ! lists_fresh; then log "apt lists are stale: apt-get update"; "${APT[@]}" update >/dev/null; updated=1; fi
if ! "${APT[@]}" install --no-install-recommends "${missing[@]}" >/tmp/archipelago-install.$$.log 2>&1; then
  if [ "$updated" = 0 ]; then
    # lists "fresh" but a mirror may have moved on (404): refresh once and retry
    log "install failed with the current lists; apt-get update and retry"
    "${APT[@]}" update >/dev/null
    "${APT[@]}" install --no-install-recommends "${missing[@]}" >/tmp/archipelago-install.$$.log 2>&1 \
      || { show_log_tail /tmp/archipelago-install.$$.log 40; die "apt-get install failed"; }
  else
    show_log_tail /tmp/archipelago-install.$$.log 40; die "apt-get install failed"
  fi
fi
rm -f /tmp/archipelago-install.$$.log
log "installed ${#missing[@]} package(s) in $(since_ms "$t0") s"
dpkg-query -W -f='  ${Package} ${Version}\n' "${missing[@]}" >&2
