import type { IslandSettings } from '../config/islands-file';
import type { WorkLimiter } from '../../core/common/work-limiter';
import { FallbackSlurmClient } from './fallback-slurm-client';
import type { IslandConnection } from './island-connection';
import type { JobFiles } from '../../core/slurm/job-files.port';
import { LocalJobFiles } from './local-job-files';
import { LocalPosixAccounts, type PosixAccounts } from './posix-accounts';
import { RestSlurmClient } from './rest/rest-slurm-client';
import { SftpJobFiles } from './sftp-job-files';
import type { SlurmClient } from '../../core/slurm/slurm-client.port';
import type { AccountingSource } from '../../core/usage/accounting';
import { SshSlurmClient } from './ssh/ssh-slurm-client';

/** Both adapters read accounting too: REST from /slurmdb/v0.0.38, SSH with `sacct --json`. */
export function accountingSourceOf(client: SlurmClient): AccountingSource {
  const source = client as SlurmClient & Partial<AccountingSource>;
  if (typeof source.runsOf !== 'function') throw new Error('this SLURM client cannot read accounting');
  return source as SlurmClient & AccountingSource;
}

/** The one place that knows which adapter class serves which configuration. */
export function createSlurmClient(connection: IslandConnection): SlurmClient {
  if (connection.adapter === 'ssh') return new SshSlurmClient(connection);
  const rest = new RestSlurmClient(connection);
  return connection.fallback === 'ssh' ? new FallbackSlurmClient(rest, new SshSlurmClient(connection), connection.name) : rest;
}

/** How local reads are bounded: one limiter per process (the libuv thread pool is), and a time bound per read. */
export interface LocalReadBounds {
  limiter: WorkLimiter;
  timeoutMs: number;
}

/**
 * Where an island's accounts are looked up: on its login node when its files are read over SFTP
 * (reusing the island's SSH client when it has one), else on this machine, whose accounts an island
 * with local files shares. The second value closes what was opened for it.
 */
export function createPosixAccounts(settings: IslandSettings, slurm: SlurmClient): { accounts: PosixAccounts; close: () => Promise<void> } {
  if (settings.files === 'local') return { accounts: new LocalPosixAccounts(), close: async () => undefined };
  if (slurm instanceof SshSlurmClient) return { accounts: slurm, close: async () => undefined };
  const ssh = new SshSlurmClient(settings.connection);
  return { accounts: ssh, close: () => ssh.close() };
}

export function createJobFiles(settings: IslandSettings, slurm: SlurmClient, rootsFor: (user: string) => string[], local: LocalReadBounds): JobFiles {
  if (settings.files === 'local') return new LocalJobFiles(rootsFor, local.limiter, local.timeoutMs);
  const ssh = slurm instanceof SshSlurmClient ? slurm : new SshSlurmClient(settings.connection);
  return new SftpJobFiles(ssh, rootsFor);
}
