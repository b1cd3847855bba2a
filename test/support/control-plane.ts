import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { TERMINAL_STATES } from '../../src/core/jobs/lifecycle';
import { freshDatabase, pgStatement } from './postgres';

/**
 * Runs the real control plane (API and worker as separate processes, like production) against the
 * local stack that `scripts/stack/infra-up.sh` started. Each instance gets its own database so
 * suites cannot see each other's jobs.
 */
export const REPO = resolve(__dirname, '../../..');

/** Log lines kept per role for logLines(). */
const MAX_LINES = 20_000;
const STACK = process.env.ARCH_STACK_DIR ?? join(REPO, '.stack');
const REDIS_BASE = process.env.ARCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:56379';

export interface ControlPlaneOptions {
  /** Islands from the stack's islands file to use, with optional overrides (e.g. the adapter). */
  islands: Array<{ name: string; adapter?: 'rest' | 'ssh'; files?: 'local' | 'sftp' }>;
  /** Islands written out as given instead of picked from the stack's file (e.g. an island a suite starts itself). */
  islandEntries?: Array<Record<string, unknown>>;
  /** Admin URL of the PostgreSQL the database is created on (default: the stack's). */
  pgAdminUrl?: string;
  /** Redis server without the database index (default: the stack's); `redisDb` picks the index there. */
  redisUrl?: string;
  /** Extra environment for both processes. */
  env?: Record<string, string>;
  /** Redis logical database; separate instances must not share a queue. */
  redisDb: number;
  /** The islands file the islands are picked from (default: the stack's islands.json), e.g. a suite's own island. */
  islandsSource?: string;
  /** The test database's name (default archipelago_test_<name>); it is dropped and created again. */
  databaseName?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

function islandsFile(
  name: string,
  wanted: ControlPlaneOptions['islands'],
  source = join(STACK, 'islands.json'),
  entries?: ControlPlaneOptions['islandEntries'],
): string {
  const dir = join(STACK, 'test');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-islands.json`);
  if (entries) {
    writeFileSync(file, JSON.stringify({ islands: entries }, null, 2));
    return file;
  }
  if (!existsSync(source)) {
    throw new Error(`${source} is missing: start the local stack first (scripts/stack/infra-up.sh, or npm test)`);
  }
  const all = JSON.parse(readFileSync(source, 'utf8')).islands as Array<Record<string, unknown>>;
  const islands = wanted.map((w) => {
    const found = all.find((i) => i.name === w.name);
    if (!found) throw new Error(`island ${w.name} is not in ${source}`);
    return { ...found, ...(w.adapter ? { adapter: w.adapter } : {}), ...(w.files ? { files: w.files } : {}) };
  });
  writeFileSync(file, JSON.stringify({ islands }, null, 2));
  return file;
}

export class ControlPlane {
  readonly adminKey = `adm_${randomBytes(24).toString('base64url')}`;
  url = '';
  private api: ChildProcess | null = null;
  private worker: ChildProcess | null = null;
  private readonly extraApis: ChildProcess[] = [];
  private env: Record<string, string> = {};
  private readonly logs: string[] = [];
  /** Each role's stdout as whole lines (the last MAX_LINES), and the unfinished line of each. */
  private readonly stdoutLines: Record<'api' | 'worker', string[]> = { api: [], worker: [] };
  private readonly partialLine: Record<'api' | 'worker', string> = { api: '', worker: '' };

  constructor(
    readonly name: string,
    private readonly options: ControlPlaneOptions,
  ) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.env = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: await freshDatabase(this.options.databaseName ?? `archipelago_test_${this.name}`, this.options.pgAdminUrl),
      REDIS_URL: this.redisUrl,
      ARCHIPELAGO_ISLANDS_FILE: islandsFile(this.name, this.options.islands, this.options.islandsSource, this.options.islandEntries),
      ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY: this.adminKey,
      ARCHIPELAGO_FOLLOW_INTERVAL_MS: '300',
      ARCHIPELAGO_RECONCILE_INTERVAL_MS: '2000',
      ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '5',
      PORT: String(port),
      ...this.options.env,
    };
    await this.flushRedis();
    this.api = this.spawnRole('api');
    await this.waitReady(this.url, this.api);
    this.worker = this.spawnRole('worker');
  }

  /** One more API process on a port of its own, sharing the database and Redis: another replica behind the load balancer. */
  async extraApi(): Promise<{ url: string; request: (...args: Parameters<ControlPlane['request']>) => ReturnType<ControlPlane['request']> }> {
    const url = `http://127.0.0.1:${await freePort()}`;
    const child = this.spawnRole('api', { PORT: new URL(url).port });
    this.extraApis.push(child);
    await this.waitReady(url, child);
    return { url, request: (...args) => requestAt(url, ...args) };
  }

  /** This instance's database (for assertions that must not go through the API). */
  get databaseUrl(): string {
    return this.env.DATABASE_URL;
  }

  private get redisUrl(): string {
    return `${this.options.redisUrl ?? REDIS_BASE}/${this.options.redisDb}`;
  }

  /** Stops the API (SIGKILL: a crash; SIGTERM: a deploy) and starts it again on the same port. */
  async restartApi(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const api = this.api;
    if (api && api.exitCode === null && api.signalCode === null) {
      await new Promise<void>((done) => {
        api.once('exit', () => done());
        api.kill(signal);
      });
    }
    this.api = this.spawnRole('api');
    await this.waitReady(this.url, this.api);
  }

  spawnRole(role: 'api' | 'worker', env: Record<string, string> = {}): ChildProcess {
    // As deployed (docs/operations.md, Processes): a larger young generation.
    const child = spawn(process.execPath, ['--max-semi-space-size=32', join(REPO, 'dist/src/apps/server/main.js'), role], {
      env: { ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.logs.push(`[${role}] ${chunk.toString()}`);
      if (this.logs.length > 400) this.logs.splice(0, 100);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.partialLine[role] + chunk.toString()).split('\n');
      this.partialLine[role] = parts.pop()!;
      const lines = this.stdoutLines[role];
      lines.push(...parts);
      if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    });
    return child;
  }

  /** The process id of a role (benchmarks sample their memory and CPU). */
  pid(role: 'api' | 'worker'): number {
    const pid = (role === 'api' ? this.api : this.worker)?.pid;
    if (!pid) throw new Error(`no ${role} process`);
    return pid;
  }

  /** SIGKILL the worker (no chance to clean up), as a crash would. */
  killWorker(): void {
    this.worker?.kill('SIGKILL');
    this.worker = null;
  }

  startWorker(): void {
    this.worker = this.spawnRole('worker');
  }

  /** The id this control plane's database puts in the tags of its SLURM jobs. */
  async instanceId(): Promise<string> {
    return (await this.sql('SELECT instance_id FROM control_plane'))[0].instance_id;
  }

  /** A statement on this control plane's own database (tests that must age or inspect rows). */
  async sql(statement: string, params: unknown[] = []): Promise<any[]> {
    return pgStatement(this.env.DATABASE_URL, statement, params);
  }

  /** The role's stdout, whole lines only, in order (the last MAX_LINES; every restart of the role appends). */
  logLines(role: 'api' | 'worker'): string[] {
    return [...this.stdoutLines[role]];
  }

  recentLogs(): string {
    return this.logs.join('').slice(-6000);
  }

  /** Everything both processes logged that is still kept (the last 300-400 chunks). */
  keptLogs(): string {
    return this.logs.join('');
  }

  async stop(): Promise<void> {
    await Promise.all(
      [this.api, this.worker, ...this.extraApis].map(
        (child) =>
          new Promise<void>((done) => {
            if (!child || child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }

  request(method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) {
    return requestAt(this.url, method, path, key, body, headers);
  }

  /** A researcher principal with a submit+read key, running as `slurmUser`. */
  async researcher(name: string, slurmUser: string): Promise<{ id: string; key: string }> {
    const created = await this.request('POST', '/v1/principals', this.adminKey, { name, kind: 'researcher', slurmUser });
    if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${created.text}`);
    const key = await this.request('POST', `/v1/principals/${created.json.id}/api-keys`, this.adminKey, { scopes: ['submit', 'read'] });
    if (key.status !== 201) throw new Error(`key for ${name}: ${key.status} ${key.text}`);
    return { id: created.json.id, key: key.json.key };
  }

  /** A provider admin principal with a `provider` key (manages its own nodes and join tokens). */
  async provider(name: string): Promise<{ id: string; key: string }> {
    const created = await this.request('POST', '/v1/principals', this.adminKey, { name, kind: 'provider_admin' });
    if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${created.text}`);
    const key = await this.request('POST', `/v1/principals/${created.json.id}/api-keys`, this.adminKey, { scopes: ['provider'] });
    if (key.status !== 201) throw new Error(`key for ${name}: ${key.status} ${key.text}`);
    return { id: created.json.id, key: key.json.key };
  }

  /** Polls `path` until `done(body)` holds; fails with the last answer and the logs after `timeoutMs`. */
  async waitFor(key: string, path: string, done: (body: any) => boolean, timeoutMs = 15000, everyMs = 100): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const response = await this.request('GET', path, key);
      last = response.json;
      if (response.status === 200 && done(last)) return last;
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`${path} did not reach the expected state; last seen: ${JSON.stringify(last)}\n${this.recentLogs()}`);
  }

  /** Polls a job until `done(job)` holds; fails with the job and the logs after `timeoutMs`. */
  async waitForJob(key: string, id: string, done: (job: any) => boolean, timeoutMs = 60000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const response = await this.request('GET', `/v1/jobs/${id}`, key);
      last = response.json;
      if (response.status === 200 && done(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`job ${id} did not reach the expected state; last seen: ${JSON.stringify(last)}\n${this.recentLogs()}`);
  }

  private async waitReady(url: string, api: ChildProcess): Promise<void> {
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (api.exitCode !== null) throw new Error(`the API exited early:\n${this.recentLogs()}`);
      try {
        const response = await fetch(`${url}/health/live`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the API did not start:\n${this.recentLogs()}`);
  }

  private async flushRedis(): Promise<void> {
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.flushdb();
    redis.disconnect();
  }
}

/** One HTTP request to the API at `base`, answered with its status, headers, text and parsed JSON (if any). */
async function requestAt(base: string, method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The core's final states, for tests that wait on the strings the API returns. */
export const TERMINAL: ReadonlySet<string> = TERMINAL_STATES;
