import type { IslandSettings } from '../config/islands-file';
import type { WorkLimiter } from '../../core/common/work-limiter';
import { FallbackSlurmClient } from './fallback-slurm-client';
import type { IslandConnection } from './island-connection';
import type { JobFiles } from '../../core/slurm/job-files.port';
import { LocalJobFiles } from './local-job-files';
import { LocalPosixAccounts, type PosixAccounts } from './posix-accounts';
import { RestSlurmClient } from './rest/rest-slurm-client';
import { SftpJobFiles } from './sftp-job-files';
import type { SlurmAdapter } from './slurm-adapter';
import { SshSlurmClient } from './ssh/ssh-slurm-client';

/** The one place that knows which adapter class serves which configuration. */
export function createSlurmClient(connection: IslandConnection): SlurmAdapter {
  if (connection.adapter === 'ssh') return new SshSlurmClient(connection);
  const rest = new RestSlurmClient(connection);
  return connection.fallback === 'ssh' ? new FallbackSlurmClient(rest, new SshSlurmClient(connection), connection.name) : rest;
}

/** How local reads are bounded: one limiter per process (the libuv thread pool is), and a time bound per read. */
export interface LocalReadBounds {
  limiter: WorkLimiter;
  timeoutMs: number;
}

/** An island's job files and user database, and how to release what was opened for them. */
export interface IslandFileAccess {
  accounts: PosixAccounts;
  files: JobFiles;
  close: () => Promise<void>;
}

/**
 * Where an island's files are read and its accounts looked up: on its login node when its files are
 * read over SFTP, else on this machine, whose accounts an island with local files shares. Over SFTP
 * both use the adapter's own SSH sessions when it has them (an SSH island, a REST island with SSH
 * fallback), else ONE SSH client opened here for both, which `close` releases.
 */
export function createFileAccess(
  settings: IslandSettings,
  adapter: SlurmAdapter,
  rootsFor: (user: string) => string[],
  local: LocalReadBounds,
): IslandFileAccess {
  if (settings.files === 'local') {
    return { accounts: new LocalPosixAccounts(), files: new LocalJobFiles(rootsFor, local.limiter, local.timeoutMs), close: async () => undefined };
  }
  const shared = adapter.loginNode();
  const ssh = shared ?? new SshSlurmClient(settings.connection);
  return { accounts: ssh, files: new SftpJobFiles(ssh, rootsFor), close: shared ? async () => undefined : () => ssh.close() };
}
