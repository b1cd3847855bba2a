import { walkToDirectory, type DirectoryWalk } from './job-file-walk';
import { ByteRange, clampRange, FileSlice, JobFileAccessError, JobFiles } from '../../core/slurm/job-files.port';
import { RemoteFiles, RemotePathError } from './ssh/remote-files';
import type { LoginNode } from './slurm-adapter';

const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** A refusal of the server about a path is the path's fault: refused like every other. */
async function pathAnswer<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof RemotePathError) throw new JobFileAccessError(error.message);
    throw error;
  }
}

/** The walk of job-file-walk.ts over SFTP, by path: every step is the owner's own lookup. */
function sftpWalk(files: RemoteFiles): DirectoryWalk<string> {
  return {
    async root(path) {
      const stat = await pathAnswer(files.stat(path));
      if (!stat) return null;
      if (!stat.isDirectory) throw new JobFileAccessError(`${path} is not a directory`);
      return path;
    },
    async child(dir, name) {
      const stat = await pathAnswer(files.lstat(join(dir, name)));
      if (!stat) return null;
      if (stat.isDirectory) return join(dir, name);
      if (stat.isSymbolicLink) return 'symlink';
      throw new JobFileAccessError(`${join(dir, name)} is not a directory`);
    },
    async follow(dir, name) {
      const real = await pathAnswer(files.realpath(join(dir, name)));
      if (!(await pathAnswer(files.stat(real)))?.isDirectory) throw new JobFileAccessError(`${join(dir, name)} does not lead to a directory`);
      return { dir: real, realPath: real };
    },
    realpath: (path) => files.realpath(path),
    release: async () => undefined,
  };
}

/**
 * Job files read over SFTP as the job's owner: the island's own permissions decide what is
 * readable, and the same rules as for local files decide what is served: the walk from the owner's
 * root follows directory symlinks only back inside the owner's roots, the file itself must be a
 * regular file (lstat: a symlink there is refused) and still one once opened. The SFTP server runs
 * as the owner, so a FIFO swapped in between the lstat and the open blocks only the owner's own
 * server process, and the whole read is bounded by the island's SSH timeout (then a 503).
 */
export class SftpJobFiles implements JobFiles {
  constructor(
    private readonly ssh: LoginNode,
    private readonly rootsFor: (user: string) => string[],
  ) {}

  read(user: string, path: string, range: ByteRange): Promise<FileSlice | null> {
    return this.ssh.withFiles(user, async (files) => {
      const found = await walkToDirectory(sftpWalk(files), path, this.rootsFor(user));
      if (!found) return null;
      const target = join(found.dir, found.name);
      const stat = await pathAnswer(files.lstat(target));
      if (!stat) return null;
      if (!stat.isFile) throw new JobFileAccessError(`${path} is not a regular file`);
      return pathAnswer(
        files.withOpenFile(target, async (file) => {
          if (!file.stat.isFile) throw new JobFileAccessError(`${path} is not a regular file`);
          const { start, end } = clampRange(range, file.stat.size);
          return { data: end > start ? await file.read(start, end) : Buffer.alloc(0), start, size: file.stat.size };
        }),
      );
    });
  }
}
