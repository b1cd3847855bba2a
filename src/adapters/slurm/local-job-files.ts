import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readFile, readlink, realpath } from 'node:fs/promises';
import type { WorkLimiter } from '../../core/common/work-limiter';
import { WorkTimeoutError } from '../../core/common/work-limiter';
import { walkToDirectory, type DirectoryWalk } from './job-file-walk';
import { ByteRange, clampRange, FileSlice, JobFileAccessError, JobFileUnavailableError, JobFiles } from '../../core/slurm/job-files.port';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

/** What a path can be wrong with; any other error is the file system failing, not the path. */
const PATH_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENXIO', 'ENAMETOOLONG', 'EISDIR', 'ENODEV', 'EOPNOTSUPP', 'EINVAL']);

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException)?.code;

/** Rethrows a path error as a refusal; any other error as it is. */
function refusal(error: unknown, what: string): never {
  if (PATH_ERRORS.has(errno(error) ?? '')) throw new JobFileAccessError(`${what}: ${errno(error)}`);
  throw error;
}

/** `name` inside the directory open as `dir`, as a path: openat() where Node has none (Linux /proc). */
const inside = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/**
 * Walks with open directory descriptors, so that no step can be redirected by a rename or a
 * symlink planted between checking a directory and using it.
 */
const descriptorWalk: DirectoryWalk<FileHandle> = {
  async root(path) {
    try {
      return await open(path, O_RDONLY | O_DIRECTORY);
    } catch (error) {
      if (errno(error) === 'ENOENT') return null;
      return refusal(error, path);
    }
  },
  async child(dir, name) {
    try {
      return await open(inside(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      if (errno(error) === 'ENOENT') return null;
      if (errno(error) !== 'ENOTDIR' && errno(error) !== 'ELOOP') return refusal(error, name);
    }
    // O_NOFOLLOW|O_DIRECTORY fails alike for a symlink and for anything else that is not a directory.
    const stat = await lstat(inside(dir, name)).catch((error) => refusal(error, name));
    if (stat.isSymbolicLink()) return 'symlink';
    throw new JobFileAccessError(`${name} is not a directory`);
  },
  async follow(dir, name) {
    // O_DIRECTORY: whatever the link leads to, only a directory is opened (never a device).
    const followed = await open(inside(dir, name), O_RDONLY | O_DIRECTORY).catch((error) => refusal(error, name));
    try {
      return { dir: followed, realPath: await readlink(`/proc/self/fd/${followed.fd}`) };
    } catch (error) {
      await followed.close();
      throw error;
    }
  },
  realpath: (path) => realpath(path),
  release: (dir) => dir.close(),
};

/**
 * Job files on this machine's filesystem (the local islands of the dev stack, or an island whose
 * storage is mounted here). The control plane may run as root, so it must not read what the owner
 * could not, nor be made to wait on or open what is not a file:
 * - the walk from the owner's root follows a directory symlink only back inside the owner's roots
 *   (job-file-walk.ts), on directory descriptors;
 * - the file itself is opened with O_NOFOLLOW (a symlink there is refused, never followed) and
 *   O_NONBLOCK (a FIFO cannot hold the open), and served only if the opened descriptor is a
 *   regular file owned by the owner.
 * Each read holds one slot of `limiter` (a stuck file system then holds slots, not every libuv
 * thread) and is bounded by `timeoutMs`.
 */
export class LocalJobFiles implements JobFiles {
  private passwd: { loadedAt: number; uids: Map<string, number> } | null = null;

  constructor(
    private readonly rootsFor: (user: string) => string[],
    private readonly limiter: WorkLimiter,
    private readonly timeoutMs: number,
  ) {}

  async read(user: string, path: string, range: ByteRange): Promise<FileSlice | null> {
    try {
      return await this.limiter.run(user, this.timeoutMs, () => this.readNow(user, path, range));
    } catch (error) {
      if (error instanceof WorkTimeoutError) {
        throw new JobFileUnavailableError(`reading ${path}: ${error.message}`, error.phase === 'queued' ? 'busy' : 'timeout');
      }
      throw error;
    }
  }

  private async readNow(user: string, path: string, range: ByteRange): Promise<FileSlice | null> {
    const uid = await this.uidOf(user);
    const found = await walkToDirectory(descriptorWalk, path, this.rootsFor(user));
    if (!found) return null;
    let handle: FileHandle;
    try {
      handle = await open(inside(found.dir, found.name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    } catch (error) {
      if (errno(error) === 'ENOENT') return null;
      return refusal(error, path);
    } finally {
      await found.dir.close();
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new JobFileAccessError(`${path} is not a regular file`);
      if (stat.uid !== uid) throw new JobFileAccessError(`${path} does not belong to ${user}`);
      const { start, end } = clampRange(range, stat.size);
      const data = Buffer.alloc(end - start);
      const { bytesRead } = data.length > 0 ? await handle.read(data, 0, data.length, start) : { bytesRead: 0 };
      return { data: data.subarray(0, bytesRead), start, size: stat.size };
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
