#!/bin/sh
# Entrypoint of every Archipelago SLURM image. Kubernetes mounts Secrets root-owned under /run/secrets;
# munged, slurmctld and slurmdbd refuse keys and configs that are not theirs alone, so copy each one
# into place with the owner and mode its daemon insists on, start munged, then run the daemon.
set -eu

place() { # src dst owner mode
  if [ -f "$1" ]; then install -D -o "$3" -g "$3" -m "$4" "$1" "$2"; fi
}
place /run/secrets/munge/munge.key /etc/munge/munge.key munge 0400
place /run/secrets/jwt/jwt_hs256.key /etc/slurm/jwt_hs256.key slurm 0600
place /run/secrets/slurmdbd/slurmdbd.conf /etc/slurm/slurmdbd.conf slurm 0600

install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- /usr/sbin/munged
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/spool/slurmd /run/slurmdbd

exec "$@"
