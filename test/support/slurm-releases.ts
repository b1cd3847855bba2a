import { execFileSync } from 'node:child_process';

/**
 * Where a SLURM 24.11 island runs from on this host, as island-up.sh's ISLAND_ROOT: '' (the host's
 * own SLURM, on Debian 13) or 'trixie' (Debian 13's packages in a root, on Debian 12).
 * scripts/stack/infra-up.sh chooses local-c's the same way.
 */
export function rootFor2411(hostVersion: string = hostSlurmVersion()): string {
  return hostVersion.startsWith('24.11.') ? '' : 'trixie';
}

/** The host's SLURM release ("22.05.8"), or '' when it has none. */
export function hostSlurmVersion(): string {
  try {
    return /(\d+\.\d+\.\d+)/.exec(execFileSync('slurmctld', ['-V'], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    return '';
  }
}
