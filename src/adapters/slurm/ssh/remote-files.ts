import type { SFTPWrapper, Stats } from 'ssh2';
import { SlurmUnavailableError } from '../../../core/slurm/slurm-client.port';

export interface RemoteFileStat {
  size: number;
  /** Unix seconds. */
  mtime: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  mode: number;
}

/** An open remote file: what fstat says of it, and reads of bytes `start` to `end` (exclusive). */
export interface RemoteHandle {
  stat: RemoteFileStat;
  read(start: number, end: number): Promise<Buffer>;
}

/** SFTP status codes the server answers about a path (rather than about the session). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;

/** The server refused something about the path itself (permission denied, a loop, a missing target): not the connection's fault. */
export class RemotePathError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RemotePathError';
  }
}

/**
 * One SFTP session's view of the files, with the rights of the user it is logged in as. Answers
 * about a path come back as null (no such file) or RemotePathError; everything else (a lost
 * session, a malformed answer) as SlurmUnavailableError.
 */
export class RemoteFiles {
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly who: string,
  ) {}

  /** `lstat`: a symlink is described, not followed. Null when nothing has that name. */
  lstat(path: string): Promise<RemoteFileStat | null> {
    return this.statOrNull('lstat', path, (cb) => this.sftp.lstat(path, cb));
  }

  /** `stat`: symlinks followed. Null when the path leads nowhere. */
  stat(path: string): Promise<RemoteFileStat | null> {
    return this.statOrNull('stat', path, (cb) => this.sftp.stat(path, cb));
  }

  /** The canonical absolute path, symlinks resolved by the server. */
  realpath(path: string): Promise<string> {
    checkPath(path);
    return call<string>((cb) => this.sftp.realpath(path, cb)).catch((err) => this.fail(err, `realpath ${path}`));
  }

  /** Opens `path` for reading, runs `fn` on it and closes it. */
  async withOpenFile<T>(path: string, fn: (handle: RemoteHandle) => Promise<T>): Promise<T> {
    checkPath(path);
    const handle = await call<Buffer>((cb) => this.sftp.open(path, 'r', cb)).catch((err) => this.fail(err, `open ${path}`));
    try {
      const stat = toStat(await call<Stats>((cb) => this.sftp.fstat(handle, cb)).catch((err) => this.fail(err, `fstat ${path}`)));
      return await fn({ stat, read: (start, end) => this.readRange(handle, path, start, end) });
    } finally {
      await call<void>((cb) => this.sftp.close(handle, cb)).catch(() => undefined);
    }
  }

  private async readRange(handle: Buffer, path: string, start: number, end: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let position = start;
    while (position < end) {
      const want = Math.min(end - position, 32 * 1024);
      const buf = Buffer.alloc(want);
      const got = await new Promise<number>((resolve, reject) =>
        this.sftp.read(handle, buf, 0, want, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))),
      ).catch((err) => this.fail(err, `read ${path}`));
      if (got <= 0) break;
      chunks.push(buf.subarray(0, got));
      position += got;
    }
    return Buffer.concat(chunks);
  }

  private async statOrNull(
    what: string,
    path: string,
    fn: (cb: (err: Error | null | undefined, stats: Stats) => void) => void,
  ): Promise<RemoteFileStat | null> {
    checkPath(path);
    try {
      return toStat(await call<Stats>(fn));
    } catch (err) {
      if (statusOf(err) === NO_SUCH_FILE) return null;
      return this.fail(err, `${what} ${path}`);
    }
  }

  private fail(err: unknown, what: string): never {
    const status = statusOf(err);
    if (status === NO_SUCH_FILE || status === PERMISSION_DENIED || status === FAILURE) {
      throw new RemotePathError(`sftp ${what} ${this.who}: ${(err as Error).message}`, status);
    }
    if (err instanceof SlurmUnavailableError) throw err;
    throw new SlurmUnavailableError(`sftp ${what} ${this.who}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function toStat(st: Stats): RemoteFileStat {
  return { size: st.size, mtime: st.mtime, isFile: st.isFile(), isDirectory: st.isDirectory(), isSymbolicLink: st.isSymbolicLink(), mode: st.mode };
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new RangeError(`path must be absolute, got ${JSON.stringify(path)}`);
  }
}
