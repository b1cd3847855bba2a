import { createHash } from 'node:crypto';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { SlurmUnavailableError } from '../../../core/slurm/slurm-client.port';

/** `SHA256:<base64, unpadded>` of a raw SSH public key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Normalizes a pin: accepts `SHA256:xxx`, a bare `xxx`, or a whole `ssh-keygen -lf` line
 * (`256 SHA256:xxx root@host (ED25519)`).
 */
export function normalizeHostKeyPin(pin: string): string {
  const trimmed = pin.trim();
  const fromLine = /SHA256:([A-Za-z0-9+/]+)=*/.exec(trimmed);
  if (fromLine) return `SHA256:${fromLine[1]}`;
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed)) return `SHA256:${trimmed.replace(/=+$/, '')}`;
  throw new Error(`not a SHA256 host key fingerprint: ${JSON.stringify(pin)}`);
}

/** The server presented a host key other than the pinned one: the connection was refused. */
export class SshHostKeyMismatchError extends SlurmUnavailableError {
  constructor(
    readonly endpoint: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`ssh ${endpoint}: host key verification failed: expected ${expected}, server presented ${actual}; refusing to connect`);
    this.name = 'SshHostKeyMismatchError';
  }
}

export interface SshPoolOptions {
  host: string;
  port: number;
  privateKey: Buffer;
  hostKeySha256: string;
  /** Connections per user (each carries several channels). */
  maxConnectionsPerUser: number;
  /** Concurrent exec/sftp channels per connection; stay below sshd's MaxSessions (default 10). */
  maxChannelsPerConnection?: number;
  /** Close a connection after this long without channels. */
  idleTimeoutMs?: number;
  /** Handshake + authentication bound. */
  connectTimeoutMs: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

interface Pooled {
  client: Client;
  user: string;
  ready: Promise<void>;
  active: number;
  alive: boolean;
  idleTimer?: NodeJS.Timeout;
}

interface UserPool {
  conns: Pooled[];
  waiters: Array<() => void>;
}

/**
 * ssh2 connections per POSIX user: each user's commands run over that user's own authenticated
 * connection (never someone else's), as exec/sftp channels multiplexed on up to
 * `maxConnectionsPerUser` connections. Every connection pins the server's host key.
 */
export class SshPool {
  private readonly users = new Map<string, UserPool>();
  private readonly pin: string;
  private readonly maxChannels: number;
  private readonly idleTimeoutMs: number;
  private closed = false;

  constructor(private readonly options: SshPoolOptions) {
    this.pin = normalizeHostKeyPin(options.hostKeySha256);
    this.maxChannels = Math.max(1, options.maxChannelsPerConnection ?? 8);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Runs `command` as `user`; `stdin` (if any) is written and closed. Resolves with any exit status. */
  async exec(user: string, command: string, opts: { stdin?: string | Buffer; timeoutMs: number }): Promise<ExecResult> {
    return this.withConnection(user, (client) => this.execOn(client, user, command, opts));
  }

  /** Runs `fn` with an SFTP session as `user`, closed afterwards. */
  async withSftp<T>(user: string, timeoutMs: number, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    return this.withConnection(user, async (client) => {
      const sftp = await withTimeout(
        new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s)))),
        timeoutMs,
        () => `ssh ${this.endpoint}: sftp as ${user} timed out`,
      ).catch((err) => {
        throw err instanceof SlurmUnavailableError
          ? err
          : new SlurmUnavailableError(`ssh ${this.endpoint}: sftp as ${user}: ${(err as Error).message}`, { cause: err });
      });
      try {
        return await withTimeout(fn(sftp), timeoutMs, () => `ssh ${this.endpoint}: sftp as ${user} timed out`);
      } finally {
        sftp.end();
      }
    });
  }

  /** Open connections per user (for tests and metrics). */
  stats(): Record<string, { connections: number; active: number }> {
    const out: Record<string, { connections: number; active: number }> = {};
    for (const [user, pool] of this.users) {
      out[user] = { connections: pool.conns.length, active: pool.conns.reduce((n, c) => n + c.active, 0) };
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.users.values()].flatMap((p) => p.conns);
    this.users.clear();
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.idleTimer) clearTimeout(c.idleTimer);
            c.alive = false;
            c.client.once('close', () => resolve());
            setTimeout(resolve, 1000).unref();
            c.client.end();
          }),
      ),
    );
  }

  private async withConnection<T>(user: string, fn: (client: Client) => Promise<T>): Promise<T> {
    const conn = await this.acquire(user);
    try {
      return await fn(conn.client);
    } finally {
      this.release(conn);
    }
  }

  private async acquire(user: string): Promise<Pooled> {
    for (;;) {
      if (this.closed) throw new SlurmUnavailableError(`ssh ${this.endpoint}: pool is closed`);
      let pool = this.users.get(user);
      if (!pool) {
        pool = { conns: [], waiters: [] };
        this.users.set(user, pool);
      }
      let conn = pool.conns.filter((c) => c.alive && c.active < this.maxChannels).sort((a, b) => a.active - b.active)[0];
      if (!conn && pool.conns.length < Math.max(1, this.options.maxConnectionsPerUser)) {
        conn = this.connect(user, pool);
      }
      if (conn) {
        conn.active++;
        if (conn.idleTimer) {
          clearTimeout(conn.idleTimer);
          conn.idleTimer = undefined;
        }
        try {
          await conn.ready;
          return conn;
        } catch (err) {
          conn.active--;
          throw err;
        }
      }
      const waiters = pool.waiters;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }

  private release(conn: Pooled): void {
    conn.active--;
    const pool = this.users.get(conn.user);
    pool?.waiters.shift()?.();
    if (conn.active === 0 && conn.alive) {
      conn.idleTimer = setTimeout(() => this.drop(conn, true), this.idleTimeoutMs);
      conn.idleTimer.unref();
    }
  }

  private drop(conn: Pooled, end: boolean): void {
    conn.alive = false;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    const pool = this.users.get(conn.user);
    if (pool) {
      pool.conns = pool.conns.filter((c) => c !== conn);
      // Let a waiter open a replacement.
      pool.waiters.shift()?.();
      if (pool.conns.length === 0 && pool.waiters.length === 0) this.users.delete(conn.user);
    }
    if (end) conn.client.end();
  }

  private connect(user: string, pool: UserPool): Pooled {
    const client = new Client();
    let mismatch: SshHostKeyMismatchError | undefined;
    const config: ConnectConfig = {
      host: this.options.host,
      port: this.options.port,
      username: user,
      privateKey: this.options.privateKey,
      readyTimeout: this.options.connectTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const actual = sshFingerprintSha256(key);
        if (actual === this.pin) return true;
        mismatch = new SshHostKeyMismatchError(this.endpoint, this.pin, actual);
        return false;
      },
    };
    const conn: Pooled = { client, user, active: 0, alive: true, ready: Promise.resolve() };
    conn.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      client.once('ready', () => {
        client.setNoDelay(true); // small request/response exchanges: no Nagle delay on our side
        settled = true;
        resolve();
      });
      client.on('error', (err: Error & { level?: string }) => {
        this.drop(conn, false);
        if (settled) return;
        settled = true;
        if (mismatch) return reject(mismatch);
        const reason =
          err.level === 'client-authentication'
            ? `authentication as ${user} failed (is the control plane's key in ~${user}/.ssh/authorized_keys?)`
            : err.message;
        reject(new SlurmUnavailableError(`ssh ${this.endpoint}: ${reason}`, { cause: err }));
      });
      client.on('close', () => {
        this.drop(conn, false);
        if (!settled) {
          settled = true;
          reject(mismatch ?? new SlurmUnavailableError(`ssh ${this.endpoint}: connection as ${user} closed during handshake`));
        }
      });
    });
    conn.ready.catch(() => undefined); // observed by acquire(); avoid unhandled rejections
    pool.conns.push(conn);
    client.connect(config);
    return conn;
  }

  private execOn(client: Client, user: string, command: string, opts: { stdin?: string | Buffer; timeoutMs: number }): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      const timer = setTimeout(() => {
        channel?.close();
        reject(new SlurmUnavailableError(`ssh ${this.endpoint}: command as ${user} timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      client.exec(command, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          return reject(new SlurmUnavailableError(`ssh ${this.endpoint}: exec as ${user} failed: ${err.message}`, { cause: err }));
        }
        channel = stream;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({
            code: typeof code === 'number' ? code : null,
            signal: signal ?? null,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      });
    });
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SlurmUnavailableError(message())), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
