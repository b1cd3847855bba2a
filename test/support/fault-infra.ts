import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, REPO } from './control-plane';

/**
 * Infrastructure a fault suite owns and may break at will: its own SLURM island, its own Redis
 * server and its own PostgreSQL cluster. The shared stack other suites use is never touched.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Runs a command where an island's SLURM lives: the host's, or its Debian root's (ISLAND_ROOT). */
const ISLAND_EXEC = join(REPO, 'slurm/local/island-exec.sh');

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed daemon can linger as a zombie (see scripts/stack/lib.sh): that is dead too.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

/** One SLURM island started by slurm/local/island-up.sh, whose daemons the suite stops and starts. */
export class FaultIsland {
  readonly conf: string;
  readonly run: string;
  readonly jobcompLog: string;

  constructor(
    readonly name: string,
    private readonly index: number,
    private readonly shape: Record<string, string> = {},
  ) {
    this.conf = `/etc/archipelago/islands/${name}/slurm.conf`;
    this.run = `/run/archipelago/islands/${name}`;
    this.jobcompLog = `/var/log/archipelago/islands/${name}/jobcomp.log`;
  }

  /** Starts the island fresh (island-up.sh restarts one already running under this name). */
  up(): void {
    execFileSync(join(REPO, 'slurm/local/island-up.sh'), [this.name, String(this.index)], {
      env: { ...process.env, ...this.shape },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 90_000,
    });
  }

  down(): void {
    execFileSync(join(REPO, 'slurm/local/island-down.sh'), [this.name], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 90_000 });
  }

  /** The island's islands-file entry as island-up.sh wrote it, with `overrides` applied. */
  entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const entry = JSON.parse(readFileSync(`/etc/archipelago/islands/${this.name}/island.json`, 'utf8'));
    return { ...entry, ...overrides };
  }

  private pid(daemon: 'slurmctld' | 'slurmrestd'): number | null {
    const file = join(this.run, `${daemon}.pid`);
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  }

  /** SIGTERM (slurmctld saves its state, as in a maintenance stop) and wait until it is gone. */
  async stop(daemon: 'slurmctld' | 'slurmrestd'): Promise<void> {
    const pid = this.pid(daemon);
    if (pid === null) return;
    process.kill(pid, 'SIGTERM');
    await until(`${daemon} of ${this.name} stopping`, 20_000, () => !alive(pid));
  }

  /** Starts slurmctld again (unless running) from its saved state (jobs and ids survive), as island-up.sh starts it. */
  async startSlurmctld(): Promise<void> {
    if (this.pid('slurmctld') !== null) return;
    execFileSync(ISLAND_EXEC, [this.name, 'slurmctld', '-f', this.conf], { stdio: 'ignore', timeout: 30_000 });
    await until(`slurmctld of ${this.name} answering`, 30_000, () =>
      /UP/.test(execFileSync(ISLAND_EXEC, [this.name, 'scontrol', 'ping'], { timeout: 5000 }).toString()),
    );
  }

  /**
   * Starts slurmrestd again (unless running) with island-up.sh's command line (and plugins), detached,
   * and waits for its port. Through island-exec.sh, which execs its way to slurmrestd in the island's
   * root when it has one: the child's pid is slurmrestd's.
   */
  async startSlurmrestd(port: number, threads = 8): Promise<void> {
    if (this.pid('slurmrestd') !== null) return;
    const plugins = this.fact('SLURMRESTD_PLUGINS');
    const child = spawn(
      ISLAND_EXEC,
      [
        this.name,
        'SLURM_JWT=daemon',
        'slurmrestd',
        '-f',
        this.conf,
        '-u',
        'slurmrest',
        '-g',
        'slurmrest',
        '-a',
        'rest_auth/jwt',
        '-s',
        plugins,
        '-t',
        String(threads),
        `127.0.0.1:${port}`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    child.unref();
    // island-down.sh finds it by this pid file.
    writeFileSync(join(this.run, 'slurmrestd.pid'), `${child.pid}\n`);
    await until(`slurmrestd of ${this.name} listening`, 20_000, async () => {
      const probe = await fetch(`http://127.0.0.1:${port}/`).catch((error) => error as Error);
      return !(probe instanceof Error);
    });
  }

  restPort(): number {
    return Number(new URL(this.fact('SLURM_REST_URL')).port);
  }

  /** A fact island-up.sh wrote into the island's env file (SLURM_VERSION, SLURMRESTD_PLUGINS...). */
  fact(key: string): string {
    const value = new RegExp(`^${key}=(.*)$`, 'm').exec(readFileSync(`/etc/archipelago/islands/${this.name}/env`, 'utf8'))?.[1];
    if (value === undefined) throw new Error(`${key} is not in the env file of island ${this.name}: start it with this checkout's island-up.sh`);
    return value;
  }

  /** SLURM job ids per name from the job completion log (one line per finished SLURM job). */
  completedByName(prefix: string): Map<string, number[]> {
    const byName = new Map<string, number[]>();
    if (!existsSync(this.jobcompLog)) return byName;
    for (const line of readFileSync(this.jobcompLog, 'utf8').split('\n')) {
      const name = / Name=(\S+) /.exec(line)?.[1];
      const id = /^JobId=(\d+) /.exec(line)?.[1];
      if (!name || !id || !name.startsWith(prefix)) continue;
      byName.set(name, [...(byName.get(name) ?? []), Number(id)]);
    }
    return byName;
  }
}

/** A throwaway redis-server (no persistence) on a free port. */
export class OwnRedis {
  port = 0;
  private child: ChildProcess | null = null;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await until('redis-server starting', 10_000, async () => {
      const probe = await fetch(`http://127.0.0.1:${this.port}`).catch((error) => error as Error);
      // Redis drops an HTTP request's connection; "connection refused" means it is not up yet.
      return !(probe instanceof Error) || !/ECONNREFUSED/.test(String((probe as { cause?: unknown }).cause));
    });
  }

  /** SIGKILL: everything in it is gone, as after a crash of a Redis without persistence. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }

  async flushAll(): Promise<void> {
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.flushall();
    redis.disconnect();
  }
}

/** The host's PostgreSQL binaries: 15 on Debian 12, 17 on Debian 13 (as scripts/stack/pg-up.sh finds them). */
const PG_BIN = existsSync('/usr/lib/postgresql/15/bin/pg_ctl')
  ? '/usr/lib/postgresql/15/bin'
  : (readdirSync('/usr/lib/postgresql', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`/usr/lib/postgresql/${d.name}/bin/pg_ctl`))
      .map((d) => d.name)
      .sort((a, b) => Number(a) - Number(b))
      .map((v) => `/usr/lib/postgresql/${v}/bin`)
      .pop() ?? '/usr/lib/postgresql/15/bin');

/** A PostgreSQL cluster of its own (initdb into a temp dir, run as postgres, trust on loopback). */
export class OwnPostgres {
  port = 0;
  private dir = '';

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private pgCtl(...args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', join(this.dir, 'data'), ...args], { stdio: 'ignore', timeout: 60_000 });
  }

  async start(): Promise<void> {
    if (!this.dir) {
      this.port = await freePort();
      this.dir = mkdtempSync(join(tmpdir(), 'fault-pg-'));
      chownSync(this.dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
      execFileSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          join(PG_BIN, 'initdb'),
          '-D',
          join(this.dir, 'data'),
          '-U',
          'postgres',
          '-A',
          'trust',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
          '--no-sync',
        ],
        { stdio: 'ignore', timeout: 60_000 },
      );
    }
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    this.pgCtl('-l', join(this.dir, 'pg.log'), '-w', '-t', '30', '-o', options, 'start');
    await until('postgres answering', 10_000, async () => {
      const client = new Client({ connectionString: this.adminUrl });
      await client.connect();
      await client.end();
      return true;
    });
  }

  /** A fast shutdown: every session is cut off, as in a restart for maintenance. */
  stop(): void {
    if (this.dir && existsSync(join(this.dir, 'data', 'postmaster.pid'))) this.pgCtl('-m', 'fast', '-w', 'stop');
  }

  destroy(): void {
    this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
