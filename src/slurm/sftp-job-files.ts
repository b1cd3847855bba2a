import { ByteRange, clampRange, FileSlice, JobFileAccessError, JobFiles } from './job-files.port';
import type { SshSlurmClient } from './ssh/ssh-slurm-client';

/** Job files read over SFTP as the job's owner: the island's own permissions decide what is readable. */
export class SftpJobFiles implements JobFiles {
  constructor(private readonly ssh: SshSlurmClient) {}

  async read(user: string, path: string, range: ByteRange): Promise<FileSlice | null> {
    let stat;
    try {
      stat = await this.ssh.stat(user, path);
    } catch (error) {
      if ((error as { code?: string }).code === 'EACCES') throw new JobFileAccessError(`${path}: permission denied`);
      throw error;
    }
    if (!stat) return null;
    if (!stat.isFile) throw new JobFileAccessError(`${path} is not a regular file`);
    const { start, end } = clampRange(range, stat.size);
    const data = end > start ? await this.ssh.readFile(user, path, { start, end: end - 1 }) : Buffer.alloc(0);
    return { data, start, size: stat.size };
  }
}
