import type { IslandSettings } from '../config/islands-file';
import type { IslandConnection } from './island-connection';
import type { JobFiles } from './job-files.port';
import { LocalJobFiles } from './local-job-files';
import { RestSlurmClient } from './rest/rest-slurm-client';
import { SftpJobFiles } from './sftp-job-files';
import type { SlurmClient } from './slurm-client.port';
import { SshSlurmClient } from './ssh/ssh-slurm-client';

/** The one place that knows which adapter class serves which configuration. */
export function createSlurmClient(connection: IslandConnection): SlurmClient {
  return connection.adapter === 'rest' ? new RestSlurmClient(connection) : new SshSlurmClient(connection);
}

export function createJobFiles(settings: IslandSettings, slurm: SlurmClient, rootsFor: (user: string) => string[]): JobFiles {
  if (settings.files === 'local') return new LocalJobFiles(rootsFor);
  const ssh = slurm instanceof SshSlurmClient ? slurm : new SshSlurmClient(settings.connection);
  return new SftpJobFiles(ssh);
}
