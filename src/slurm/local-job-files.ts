import { constants } from 'node:fs';
import { open, readFile, realpath } from 'node:fs/promises';
import { ByteRange, clampRange, FileSlice, JobFileAccessError, JobFiles } from './job-files.port';

/**
 * Job files on this machine's filesystem (the local islands of the dev stack, or an island whose
 * storage is mounted here). The control plane may run as root, so it must not read what the owner
 * could not: the real path must stay inside the owner's roots and the file must belong to them,
 * which defeats a symlink planted at an output path.
 */
export class LocalJobFiles implements JobFiles {
  private passwd: { loadedAt: number; uids: Map<string, number> } | null = null;

  constructor(private readonly rootsFor: (user: string) => string[]) {}

  async read(user: string, path: string, range: ByteRange): Promise<FileSlice | null> {
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const roots = this.rootsFor(user);
    if (!roots.some((root) => real === root || real.startsWith(root.endsWith('/') ? root : `${root}/`))) {
      throw new JobFileAccessError(`${path} resolves outside the owner's directories`);
    }
    const uid = await this.uidOf(user);
    const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new JobFileAccessError(`${path} is not a regular file`);
      if (stat.uid !== uid) throw new JobFileAccessError(`${path} does not belong to ${user}`);
      const { start, end } = clampRange(range, stat.size);
      const data = Buffer.alloc(end - start);
      if (data.length > 0) await handle.read(data, 0, data.length, start);
      return { data, start, size: stat.size };
    } finally {
      await handle.close();
    }
  }

  private async uidOf(user: string): Promise<number> {
    if (!this.passwd || Date.now() - this.passwd.loadedAt > 60_000) {
      const uids = new Map<string, number>();
      for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
        const [name, , uid] = line.split(':');
        if (name && uid) uids.set(name, Number(uid));
      }
      this.passwd = { loadedAt: Date.now(), uids };
    }
    const uid = this.passwd.uids.get(user);
    if (uid === undefined) throw new JobFileAccessError(`no local account ${user}`);
    return uid;
  }
}
