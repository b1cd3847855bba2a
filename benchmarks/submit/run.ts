/**
 * Submit-path benchmark: API accept rate, dispatch rate into a local SLURM island, and two baselines
 * at the same concurrency, in one run on one machine: the raw slurmrestd submit rate, and SSH +
 * `sbatch` (one sbatch per job as the owner over pooled ssh connections, the way the chain's
 * reference provider daemon submits).
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/submit/run.js [--jobs N] [--concurrency C]
 *     [--warmup W] [--dispatch-concurrency 4,8,16] [--follow-interval-ms MS] [--island local-a]
 *     [--breakdown] [--timeout-seconds S] [--cpu-prof-dir DIR] [--ssh-jobs M]
 *     [--cpu-layouts shared,split] [--max-queue Q]
 *
 * Prints JSON (also written to benchmarks/results/submit-<timestamp>.json) and a short summary.
 * Every SLURM job it submits is cancelled before it exits. Loopback only. See benchmarks/README.md.
 */
import { CpuProfiles } from './cpu-profiles';
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Pool as PgPool } from 'pg';
import { Pool } from 'undici';
import { ControlPlane, REPO } from '../../test/support/control-plane';
import { freshDatabase, PG_ADMIN_URL } from '../../test/support/postgres';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import type { SlurmClient } from '../../src/core/slurm/slurm-client.port';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { archipelagoOutputPattern } from '../../src/core/jobs/output-path';
import { combinedCpu, cpuBetween, cpuMsPer, cpuSnapshot, type CpuSnapshot, type CpuUsage } from './proc-stats';
import { applyCpuLayout, CPU_LAYOUTS, type AppliedLayout, type CpuLayout } from './cpu-layout';
import { eachFlag } from '../flags';
import { latencySummary, round, type LatencySummary } from '../support/latency';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  jobs: number;
  concurrency: number;
  warmup: number;
  dispatchConcurrency: number[];
  /** Worker processes sharing the dispatch, one round per count. */
  workers: number[];
  followIntervalMs: number;
  /** Islands measured one after the other (e.g. local-a on SLURM 22.05 and local-c on 24.11). */
  islands: string[];
  breakdown: boolean;
  timeoutSeconds: number;
  /** When set, the API and worker are CPU-profiled (see cpu-profile-hook.ts): API during the accept phase, worker from spawn to the last dispatch. */
  cpuProfDir: string | null;
  /** Jobs for the SSH + sbatch baseline (default: --jobs; 0 skips it). Each one is an sbatch process, so it is much slower than REST. */
  sshJobs: number | null;
  /** Where processes run (cpu-layout.ts), one round per layout. */
  cpuLayouts: CpuLayout[];
  /** Before a round, wait (up to MinJobAge and a bit) until the island's slurmctld holds at most this many jobs; null: do not wait. */
  maxQueue: number | null;
}

function parseArgs(argv: string[]): Settings {
  const settings: Settings = {
    jobs: 3000,
    concurrency: 32,
    warmup: 200,
    dispatchConcurrency: [8],
    workers: [1],
    followIntervalMs: 1000,
    islands: ['local-a'],
    breakdown: false,
    timeoutSeconds: 300,
    cpuProfDir: null,
    sshJobs: null,
    cpuLayouts: ['shared', 'split'],
    maxQueue: null,
  };
  eachFlag(argv, { integers: true }, (flag, num, values) => {
    switch (flag) {
      case '--jobs':
        settings.jobs = num(1, 20000);
        break;
      case '--concurrency':
        settings.concurrency = num(1, 512);
        break;
      case '--warmup':
        settings.warmup = num(0, 5000);
        break;
      case '--dispatch-concurrency':
        settings.dispatchConcurrency = values.list(1, 256);
        break;
      case '--workers':
        settings.workers = values.list(1, 16);
        break;
      case '--follow-interval-ms':
        settings.followIntervalMs = num(50, 600000);
        break;
      case '--island':
      case '--islands':
        settings.islands = (values.text() ?? '').split(',');
        break;
      case '--breakdown':
        settings.breakdown = true;
        break;
      case '--timeout-seconds':
        settings.timeoutSeconds = num(10, 7200);
        break;
      case '--cpu-prof-dir':
        settings.cpuProfDir = resolve(values.text() ?? '.');
        break;
      case '--ssh-jobs':
        settings.sshJobs = num(0, 20000);
        break;
      case '--cpu-layouts': {
        const layouts = (values.text() ?? '').split(',');
        const unknown = layouts.find((l) => !CPU_LAYOUTS.includes(l as CpuLayout));
        if (unknown !== undefined) throw new Error(`--cpu-layouts: "${unknown}" is not one of ${CPU_LAYOUTS.join(', ')}`);
        settings.cpuLayouts = layouts as CpuLayout[];
        break;
      }
      case '--max-queue':
        settings.maxQueue = num(0, 1000000);
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: node dist/benchmarks/submit/run.js [--jobs N] [--concurrency C] [--warmup W] ' +
            '[--dispatch-concurrency 4,8,16] [--workers 1,2,3] [--follow-interval-ms MS] [--islands local-a,local-c] [--breakdown] [--timeout-seconds S] [--cpu-prof-dir DIR] [--ssh-jobs M] [--cpu-layouts shared,split] [--max-queue Q]',
        );
        process.exit(0);
      // no fall through: process.exit does not return
      default:
        throw new Error(`unknown argument ${flag} (try --help)`);
    }
  });
  if (!settings.islands.every((name) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(name))) throw new Error('--islands must be island names');
  return settings;
}

// Database names start with `bench` so they never collide with test suites' `archipelago_test_*`.
const BENCH_DB = 'bench_submit';
const REDIS_DB = Number(process.env.ARCH_BENCH_REDIS_DB ?? 7);
const REDIS_BASE = process.env.ARCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:56379';
const SLURM_USER = 'alice';
const SCRIPT = '#!/bin/bash\ntrue\n';
const RAW_TAG = 'archipelago-bench:raw';
const SSH_TAG = 'archipelago-bench:ssh';
const STACK_ISLANDS = join(process.env.ARCH_STACK_DIR ?? join(REPO, '.stack'), 'islands.json');

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let deadline = Number.POSITIVE_INFINITY;
function checkDeadline(what: string): void {
  if (Date.now() > deadline) throw new Error(`time cap reached during ${what}`);
}

/** Runs `task(i)` for i in [0, total) with at most `concurrency` in flight. */
async function closedLoop(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, total) }, async () => {
    while (next < total) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(runners);
}

/** The API or worker process of a ControlPlane (private fields; read only: CPU accounting, exit status, its output). */
function processOf(cp: ControlPlane, role: 'api' | 'worker'): ChildProcess | null {
  return (cp as unknown as Record<string, ChildProcess | null>)[role];
}

function pidOf(cp: ControlPlane, role: 'api' | 'worker'): number | undefined {
  return processOf(cp, role)?.pid;
}

function run(file: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.slice(0, 3).join(' ')}…: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * ControlPlane.stop() waits for an 'exit' event of a child that is no longer running if that child
 * died from a signal (its exitCode stays null), so it can hang; bound it.
 */
async function stopControlPlane(cp: ControlPlane): Promise<Record<string, string>> {
  const t0 = performance.now();
  await Promise.race([cp.stop(), sleep(10000)]);
  const exits: Record<string, string> = {};
  for (const role of ['api', 'worker'] as const) {
    const child = processOf(cp, role);
    if (!child) continue;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    exits[role] = `${child.signalCode ?? `exit ${child.exitCode}`}`;
  }
  exits.stopSeconds = round((performance.now() - t0) / 1000, 2).toString();
  return exits;
}

/** The island's SLURM release and newest REST API, from the facts island-up.sh wrote. */
function islandSlurm(name: string): { slurm: string; restApi: string } {
  const env = readFileSync(`/etc/archipelago/islands/${name}/env`, 'utf8');
  const field = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(env)?.[1] ?? '';
  return { slurm: field('SLURM_VERSION'), restApi: field('SLURM_REST_API') };
}

// ---------------------------------------------------------------------------------------------
// SLURM side: cancellation of everything we submitted, queue size

class SlurmCleanup {
  private readonly pending = new Set<number>();
  readonly cancelled = { requested: 0, batches: 0, errors: [] as string[] };

  constructor(readonly island: string) {}

  /** A SLURM command where the island's SLURM lives (the host's, or a Debian root's for a 24.11 island on Debian 12). */
  private slurm(args: string[], timeoutMs?: number): Promise<string> {
    return run(join(REPO, 'slurm/local/island-exec.sh'), [this.island, ...args], {}, timeoutMs);
  }

  add(ids: Iterable<number>): void {
    for (const id of ids) if (Number.isSafeInteger(id) && id > 0) this.pending.add(id);
  }

  /** scancel in batches of 500 ids (only ids we recorded). */
  async flush(): Promise<void> {
    const ids = [...this.pending];
    this.pending.clear();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      try {
        await this.slurm(['scancel', ...batch.map(String)], 120000);
        this.cancelled.requested += batch.length;
        this.cancelled.batches++;
      } catch (error) {
        this.cancelled.errors.push((error as Error).message.slice(0, 300));
      }
    }
  }

  /** Our pending jobs that escaped the id lists (e.g. submitted by a worker killed at the time cap), found by comment. */
  async sweep(commentPrefixes: string[]): Promise<number> {
    if (commentPrefixes.length === 0) return 0;
    const out = await this.slurm(['squeue', '-h', '-u', SLURM_USER, '-t', 'PENDING', '-o', '%i|%k']);
    const ids: number[] = [];
    for (const line of out.split('\n')) {
      const [id, comment] = line.split('|', 2);
      if (id && comment && commentPrefixes.some((p) => comment.startsWith(p))) ids.push(Number(id));
    }
    this.add(ids);
    await this.flush();
    return ids.length;
  }

  /** Jobs slurmctld holds in memory (all states: cancelled ones stay for MinJobAge), which is what a full GET /jobs/ lists. */
  async queueSize(): Promise<number | null> {
    try {
      const out = await this.slurm(['squeue', '-h', '--states=all', '-o', '%i']);
      return out.split('\n').filter((l) => l.trim() !== '').length;
    } catch {
      return null;
    }
  }
}

/** MinJobAge of the local islands (300 s) and a margin: the longest a wait for cancelled jobs to leave slurmctld can take. */
const QUEUE_WAIT_CAP_MS = 330_000;

/** Waits until slurmctld holds at most `max` jobs (all states), so rounds start from comparable queues. */
async function waitForQuietIsland(cleanup: SlurmCleanup, max: number | null, log: (line: string) => void): Promise<void> {
  if (max === null) return;
  const until = Math.min(Date.now() + QUEUE_WAIT_CAP_MS, deadline);
  let size = await cleanup.queueSize();
  if (size !== null && size > max) log(`${cleanup.island}: waiting until slurmctld holds at most ${max} jobs (now ${size})`);
  while (size !== null && size > max && Date.now() < until) {
    await sleep(5000);
    size = await cleanup.queueSize();
  }
  if (size !== null && size > max) log(`${cleanup.island}: still ${size} jobs in slurmctld; measuring anyway`);
}

// ---------------------------------------------------------------------------------------------
// Phase 1: API accept

interface LoadResult {
  requests: number;
  accepted: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
}

async function postJobs(
  pool: Pool,
  key: string,
  count: number,
  concurrency: number,
  body: Buffer,
  collectIds: boolean,
): Promise<LoadResult & { ids: string[] }> {
  const latencies: number[] = [];
  const ids: string[] = [];
  const errorSamples: string[] = [];
  let accepted = 0;
  let errors = 0;
  const headers = {
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    'content-length': String(body.length),
  };
  const started = performance.now();
  await closedLoop(count, concurrency, async () => {
    checkDeadline('API accept');
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: '/v1/jobs', method: 'POST', headers, body });
      const text = await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode === 202) {
        accepted++;
        if (collectIds) ids.push(JSON.parse(text).id);
      } else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${res.statusCode} ${text.slice(0, 200)}`);
      }
    } catch (error) {
      latencies.push(performance.now() - t0);
      errors++;
      if (errorSamples.length < 5) errorSamples.push((error as Error).message);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: count,
    accepted,
    errors,
    errorSamples,
    seconds: round(seconds, 3),
    perSecond: round(count / seconds),
    latencyMs: latencySummary(latencies),
    ids,
  };
}

async function getLoad(pool: Pool, path: string, count: number, concurrency: number, key?: string): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const started = performance.now();
  await closedLoop(count, concurrency, async () => {
    checkDeadline(`GET ${path}`);
    const t0 = performance.now();
    try {
      const res = await pool.request({ path, method: 'GET', headers });
      await res.body.dump();
      latencies.push(performance.now() - t0);
      if (res.statusCode === 200) ok++;
      else errors++;
    } catch {
      errors++;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: count,
    accepted: ok,
    errors,
    errorSamples: [],
    seconds: round(seconds, 3),
    perSecond: round(count / seconds),
    latencyMs: latencySummary(latencies),
  };
}

// ---------------------------------------------------------------------------------------------
// Breakdown: the accept path's two writes, measured without the HTTP stack

interface ComponentResult {
  operations: number;
  perSecond: number;
  latencyMs: LatencySummary;
}

async function timedLoop(count: number, concurrency: number, op: () => Promise<void>): Promise<ComponentResult> {
  const latencies: number[] = [];
  const started = performance.now();
  await closedLoop(count, concurrency, async () => {
    checkDeadline('breakdown');
    const t0 = performance.now();
    await op();
    latencies.push(performance.now() - t0);
  });
  const seconds = (performance.now() - started) / 1000;
  return { operations: count, perSecond: round(count / seconds), latencyMs: latencySummary(latencies) };
}

/**
 * The same INSERT … RETURNING * the API runs, into a scratch copy of `jobs` (same columns,
 * defaults and indexes, no foreign keys), with a plain pg pool of 20 (the API's pool size); and the
 * same BullMQ addBulk the API runs, into a scratch queue. Both at the client concurrency.
 */
async function breakdown(dbUrl: string, redisUrl: string, ownerId: string, count: number, concurrency: number) {
  const pg = new PgPool({ connectionString: dbUrl, max: 20 });
  const results: Record<string, ComponentResult> = {};
  try {
    await pg.query('DROP TABLE IF EXISTS bench_scratch_jobs');
    await pg.query('CREATE TABLE bench_scratch_jobs (LIKE jobs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING IDENTITY)');
    const job = normalizeSubmission(
      { script: SCRIPT, options: { hold: true } },
      {
        slurmUser: SLURM_USER,
        workdirRoots: ['/home/{user}'],
        defaultEnvironment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        maxScriptBytes: 1 << 20,
        partitions: new Set(['debug']),
      },
    );
    const insert = `INSERT INTO bench_scratch_jobs (owner_id, slurm_user, idempotency_key, request_hash, name, script, spec, environment,
                         working_directory, partition, state, array_size, depends_on, hold)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'ACCEPTED', $11, $12, $13)
       ON CONFLICT (owner_id, idempotency_key) DO NOTHING
       RETURNING *`;
    const params = [
      ownerId,
      SLURM_USER,
      null,
      Buffer.alloc(32, 1),
      job.name,
      job.script,
      job.spec,
      job.environment,
      job.workingDirectory,
      null,
      job.arraySize,
      job.dependsOn,
      true,
    ];
    await pg.query(insert, params); // warm
    results.pgInsertReturning = await timedLoop(count, concurrency, async () => {
      await pg.query(insert, params);
    });
    // Without RETURNING *: what sending the whole row (script, spec, environment) back costs.
    results.pgInsertNoReturning = await timedLoop(count, concurrency, async () => {
      await pg.query(insert.replace('RETURNING *', ''), params);
    });
    await pg.query('DROP TABLE bench_scratch_jobs');
  } finally {
    await pg.end();
  }

  const { Queue } = await import('bullmq');
  const { redisConnection } = await import('../../src/adapters/redis/redis');
  const queue = new Queue('bench-scratch', { connection: redisConnection(redisUrl) });
  try {
    let n = 0;
    results.bullmqAddBulk1 = await timedLoop(count, concurrency, async () => {
      const id = n++;
      await queue.addBulk([
        {
          name: 'dispatch',
          data: { jobId: String(id) },
          opts: { jobId: `job-${id}`, delay: 0, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
        },
      ]);
    });
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: dispatch

interface DispatchResult {
  dispatchConcurrency: number;
  workers: number;
  restConnections: number;
  followIntervalMs: number;
  jobs: number;
  dispatched: number;
  completedWithinCap: boolean;
  workerBootSeconds: number | null;
  /** From spawning the worker until the last job has a slurmJobId (the issue's definition). */
  secondsFromStart: number;
  perSecondFromStart: number;
  /** From the first to the last dispatched_at (server clock): the steady rate, boot excluded. */
  secondsSteady: number;
  perSecondSteady: number;
  finalStates: Record<string, number>;
  cpu: CpuUsage;
  /** From the worker's "started" line to the last dispatch: the dispatch's own CPU, boot excluded (null if the line was not seen). */
  cpuAfterBoot: CpuUsage | null;
  /** How the API and worker ended on SIGTERM (ControlPlane.stop sends SIGKILL after 5 s). */
  exits: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Phase 3: baselines, the same submissions straight to SLURM through one of our SlurmClients:
// REST (raw slurmrestd) and SSH (one `sbatch --parsable` per job as the owner, pooled connections)

interface BaselineResult {
  client: 'rest' | 'ssh';
  concurrency: number;
  /** REST: keep-alive sockets to slurmrestd. SSH: connections per user (each carries several channels). */
  connections: number;
  jobs: number;
  submitted: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
  cpu: CpuUsage;
  /** The closed-loop passes the totals add up (raw: one before the dispatch phase, one after). */
  passes: Array<{ submitted: number; seconds: number; perSecond: number }>;
}

/** One closed-loop pass of submissions, numbered from `first`. */
interface BaselinePass {
  ids: number[];
  latencies: number[];
  errors: number;
  errorSamples: string[];
  seconds: number;
  cpu: CpuUsage;
}

/** The dispatcher's request for this job: the same normalization, spec, environment and cwd. */
function baselineJob(partition: string) {
  return normalizeSubmission(
    { script: SCRIPT, options: { hold: true } },
    {
      slurmUser: SLURM_USER,
      workdirRoots: ['/home/{user}'],
      defaultEnvironment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      maxScriptBytes: 1 << 20,
      partitions: new Set([partition]),
    },
  );
}

async function baselinePass(
  client: SlurmClient,
  kind: BaselineResult['client'],
  { first, count }: { first: number; count: number },
  concurrency: number,
  partition: string,
  tag: string,
  cleanup: SlurmCleanup,
): Promise<BaselinePass> {
  const job = baselineJob(partition);
  const ids: number[] = [];
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const before = cpuSnapshot({ client: process.pid });
  const started = performance.now();
  await closedLoop(count, concurrency, async (i) => {
    checkDeadline(`${kind} baseline submit`);
    const n = first + i;
    const t0 = performance.now();
    try {
      const result = await client.submit(SLURM_USER, {
        script: job.script,
        // The output file the dispatcher names when the submitter names none (src/core/jobs/output-path.ts).
        spec: { ...job.spec, partition, hold: true, output: archipelagoOutputPattern(String(n + 1), false) },
        workingDirectory: job.workingDirectory,
        environment: job.environment,
        comment: `${tag}:${n}`,
      });
      ids.push(result.jobId);
    } catch (error) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push((error as Error).message.slice(0, 300));
    }
    latencies.push(performance.now() - t0);
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuBetween(before, cpuSnapshot({ client: process.pid }));
  cleanup.add(ids);
  return { ids, latencies, errors, errorSamples, seconds, cpu };
}

/** The passes of one baseline as one result: rates over their summed time, CPU weighted by each pass's length. */
function baselineResult(kind: BaselineResult['client'], connections: number, concurrency: number, jobs: number, passes: BaselinePass[]): BaselineResult {
  const submitted = passes.reduce((sum, pass) => sum + pass.ids.length, 0);
  const seconds = passes.reduce((sum, pass) => sum + pass.seconds, 0);
  return {
    client: kind,
    concurrency,
    connections,
    jobs,
    submitted,
    errors: passes.reduce((sum, pass) => sum + pass.errors, 0),
    errorSamples: passes.flatMap((pass) => pass.errorSamples).slice(0, 5),
    seconds: round(seconds, 3),
    perSecond: seconds > 0 ? round(submitted / seconds) : 0,
    latencyMs: latencySummary(passes.flatMap((pass) => pass.latencies)),
    cpu: combinedCpu(passes.map((pass) => pass.cpu)),
    passes: passes.map((pass) => ({
      submitted: pass.ids.length,
      seconds: round(pass.seconds, 3),
      perSecond: pass.seconds > 0 ? round(pass.ids.length / pass.seconds) : 0,
    })),
  };
}

/** Runs a baseline with a client the cleanup path can close if the run is interrupted. */
async function withBaselineClient<T>(state: RunState, client: SlurmClient, use: (client: SlurmClient) => Promise<T>): Promise<T> {
  state.baselineClient = client;
  try {
    return await use(client);
  } finally {
    await client.close();
    state.baselineClient = null;
  }
}

// ---------------------------------------------------------------------------------------------
// One round: fresh database, API accept, dispatch at one concurrency, raw baseline at the same

interface RoundResult {
  island: string;
  /** The island's SLURM release and the slurmrestd API the control plane spoke to it. */
  slurm: string;
  restApi: string;
  dispatchConcurrency: number;
  /** Which cores the island's SLURM side and everything else ran on (cpu-layout.ts). */
  cpuLayout: Omit<AppliedLayout, 'restore'>;
  /** Jobs slurmctld knew (all states) before the dispatch phase; the follower's listings grow with it. */
  slurmQueueBefore: number | null;
  apiAccept: LoadResult & { cpu: CpuUsage; apiCpuMsPerRequest: number | null };
  healthLive?: LoadResult;
  breakdown?: Record<string, ComponentResult>;
  dispatch: DispatchResult;
  raw: BaselineResult;
  ratioFromStart: number;
  ratioSteady: number;
  /**
   * Machine CPU (all cores, every process) per job: dispatching after boot, and the raw submit. The
   * ratio raw/dispatch is the most dispatch/raw can reach where both are CPU-bound, as on 2 vCPUs.
   */
  cpuMsPerJob: { dispatch: ReturnType<typeof cpuMsPer> | null; raw: ReturnType<typeof cpuMsPer>; cpuBoundCeiling: number | null };
  /** Null when the SSH baseline was skipped (--ssh-jobs 0) or submitted nothing. */
  sshSbatch: BaselineResult | null;
  ratioSshFromStart: number | null;
  ratioSshSteady: number | null;
}

interface RunState {
  cp: ControlPlane | null;
  /** The round's CPU layout while it is applied (restored on every way out). */
  layout: AppliedLayout | null;
  instanceIds: string[];
  baselineClient: SlurmClient | null;
}

interface RoundShape {
  layout: CpuLayout;
  dispatchConcurrency: number;
  workers: number;
}

async function round1(
  settings: Settings,
  { layout, dispatchConcurrency, workers }: RoundShape,
  cleanup: SlurmCleanup,
  state: RunState,
  island: ReturnType<typeof parseIslandsFile>[number],
  log: (line: string) => void,
): Promise<RoundResult> {
  // Before the control plane starts, so that it and every PostgreSQL backend inherit their cores.
  const applied = applyCpuLayout(layout, island.connection.name);
  state.layout = applied;
  try {
    return await measureRound(settings, { layout, dispatchConcurrency, workers }, applied, cleanup, state, island, log);
  } finally {
    applied.restore();
    state.layout = null;
  }
}

async function measureRound(
  settings: Settings,
  { layout, dispatchConcurrency, workers }: RoundShape,
  applied: AppliedLayout,
  cleanup: SlurmCleanup,
  state: RunState,
  island: ReturnType<typeof parseIslandsFile>[number],
  log: (line: string) => void,
): Promise<RoundResult> {
  const label = `round ${island.connection.name} ${layout} c=${dispatchConcurrency} w=${workers}`;
  const dbUrl = await freshDatabase(BENCH_DB);
  const profiles = new CpuProfiles(settings.cpuProfDir);
  const cp = new ControlPlane('bench', {
    databaseName: BENCH_DB,
    islands: [{ name: island.connection.name }],
    redisDb: REDIS_DB,
    env: {
      DATABASE_URL: dbUrl,
      ARCHIPELAGO_DISPATCH_CONCURRENCY: String(dispatchConcurrency),
      // Production defaults, not the test suite's fast ones.
      ARCHIPELAGO_FOLLOW_INTERVAL_MS: String(settings.followIntervalMs),
      ARCHIPELAGO_RECONCILE_INTERVAL_MS: '15000',
      ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '30',
      // One researcher submits everything: its own submit limit (2,000/s) would cut the accept phase short
      // on a fast spell of the machine. The limiter still runs (and costs what it costs), at a higher bound.
      ARCHIPELAGO_RATE_LIMITS: 'submit=100000/1s',
      ...profiles.env(),
    },
  });
  state.cp = cp;
  await cp.start();
  // ControlPlane.start() always spawns the worker too; kill it at once (it has not even loaded yet)
  // so that nothing dispatches while the API is measured.
  cp.killWorker();
  const pg = new Client({ connectionString: dbUrl });
  await pg.connect();
  const api = new Pool(cp.url, { connections: settings.concurrency, pipelining: 1, keepAliveTimeout: 30000 });
  try {
    const [{ instance_id: instanceId }] = (await pg.query('SELECT instance_id FROM control_plane')).rows;
    state.instanceIds.push(instanceId);
    const researcher = await cp.researcher(`bench-${SLURM_USER}`, SLURM_USER);
    const body = Buffer.from(JSON.stringify({ script: SCRIPT, options: { hold: true } }));

    // Warm-up (not counted), then its jobs are cancelled through the API so they are never dispatched.
    log(`${label}: warm-up ${settings.warmup}`);
    const warm = await postJobs(api, researcher.key, settings.warmup, settings.concurrency, body, true);
    if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.errorSamples.join(' | ')}`);
    await closedLoop(warm.ids.length, 8, async (i) => {
      const res = await api.request({ path: `/v1/jobs/${warm.ids[i]}`, method: 'DELETE', headers: { authorization: `Bearer ${researcher.key}` } });
      await res.body.dump();
    });

    log(`${label}: accept ${settings.jobs} at concurrency ${settings.concurrency}`);
    await sleep(settings.cpuProfDir ? 500 : 0);
    const apiPid = pidOf(cp, 'api');
    profiles.mark(apiPid); // part 0: boot and warm-up
    const before = cpuSnapshot({ api: apiPid, client: process.pid });
    const accept = await postJobs(api, researcher.key, settings.jobs, settings.concurrency, body, false);
    const after = cpuSnapshot({ api: apiPid, client: process.pid });
    profiles.mark(apiPid); // part 1: the accept phase
    const cpu = cpuBetween(before, after);
    const apiCpu = (after.groups.get('api') ?? 0) - (before.groups.get('api') ?? 0);
    if (accept.errors > 0) log(`accept errors: ${accept.errors}, e.g. ${accept.errorSamples.join(' | ')}`);
    const apiAccept = { ...accept, cpu, apiCpuMsPerRequest: apiPid ? round((apiCpu * 1000) / settings.jobs, 3) : null };
    const { ids: _ids, ...acceptResult } = apiAccept;
    void _ids;

    let healthLive: LoadResult | undefined;
    let parts: Record<string, ComponentResult> | undefined;
    if (settings.breakdown) {
      log(`${label}: breakdown`);
      healthLive = await getLoad(api, '/health/live', 2000, settings.concurrency);
      parts = await breakdown(dbUrl, `${REDIS_BASE}/${REDIS_DB}`, researcher.id, 2000, settings.concurrency);
    }

    const waiting = Number((await pg.query(`SELECT count(*) AS n FROM jobs WHERE state = 'ACCEPTED'`)).rows[0].n);
    if (waiting !== accept.accepted) log(`note: ${waiting} jobs ACCEPTED in the database, ${accept.accepted} accepted over HTTP`);

    // Phase 3, first half: raw slurmrestd before dispatching, the second half after it (below), so
    // that the machine's drift within a round and the order of phases weigh on both sides alike.
    const rawHalves = [Math.ceil(settings.jobs / 2), Math.floor(settings.jobs / 2)];
    const rawPass = async (first: number, count: number) => {
      log(`${label}: raw slurmrestd submit ${count}`);
      const pass = await withBaselineClient(state, new RestSlurmClient(island.connection), (client) =>
        baselinePass(client, 'rest', { first, count }, dispatchConcurrency, island.defaultPartition, RAW_TAG, cleanup),
      );
      await cleanup.flush();
      return pass;
    };
    const rawBefore = await rawPass(0, rawHalves[0]);

    // Phase 2: dispatch.
    const queueBefore = await cleanup.queueSize();
    log(`${label}: dispatch ${waiting} jobs (slurmctld knows ${queueBefore} jobs, all states)`);
    if (queueBefore !== null && queueBefore > 5000) {
      log(
        `warning: slurmctld holds ${queueBefore} jobs (cancelled ones stay for MinJobAge); the worker's follower lists them all every tick, so dispatch will be slower than on a quiet island`,
      );
    }
    const cpuBefore = cpuSnapshot({ api: apiPid, client: process.pid });
    const t0 = performance.now();
    cp.startWorker();
    const extraWorkers = Array.from({ length: workers - 1 }, () => cp.spawnRole('worker'));
    const workerPids = [pidOf(cp, 'worker'), ...extraWorkers.map((w) => w.pid)].filter((pid): pid is number => pid !== undefined);
    const workerPid = workerPids[0];
    let bootSeconds: number | null = null;
    // From the worker's own stdout as it arrives: the shared log window may have scrolled past the line by the next poll.
    let seen = '';
    let atBoot: CpuSnapshot | null = null;
    const onWorkerOutput = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-200);
      if (!seen.includes('worker started')) return;
      bootSeconds = (performance.now() - t0) / 1000;
      atBoot = cpuSnapshot({ api: apiPid, worker: workerPids, client: process.pid });
      workerProcess?.stdout?.off('data', onWorkerOutput);
    };
    const workerProcess = processOf(cp, 'worker');
    workerProcess?.stdout?.on('data', onWorkerOutput);
    let dispatched = 0;
    for (;;) {
      dispatched = Number((await pg.query('SELECT count(*) AS n FROM jobs WHERE slurm_job_id IS NOT NULL')).rows[0].n);
      if (dispatched >= waiting) break;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const secondsFromStart = (performance.now() - t0) / 1000;
    const atEnd = cpuSnapshot({ api: apiPid, worker: workerPids, client: process.pid });
    const cpuDispatch = cpuBetween(cpuBefore, atEnd);
    // Jobs wait in PostgreSQL until the worker has booted, so every dispatch happens after this snapshot.
    const cpuAfterBoot = atBoot ? cpuBetween(atBoot, atEnd) : null;
    if (bootSeconds !== null) profiles.mark(workerPid); // part 0: worker boot and the whole dispatch (the hook is loaded once it booted)
    await profiles.written();
    const [span] = (
      await pg.query(`SELECT extract(epoch FROM max(dispatched_at) - min(dispatched_at))::float8 AS seconds FROM jobs WHERE slurm_job_id IS NOT NULL`)
    ).rows;
    const states = Object.fromEntries(
      (await pg.query('SELECT state, count(*)::int AS n FROM jobs GROUP BY state ORDER BY state')).rows.map((r) => [r.state, r.n]),
    );
    for (const extra of extraWorkers) extra.kill('SIGKILL');
    const exits = await stopControlPlane(cp);
    state.cp = null;
    const slurmIds = (await pg.query('SELECT slurm_job_id FROM jobs WHERE slurm_job_id IS NOT NULL')).rows.map((r) => Number(r.slurm_job_id));
    cleanup.add(slurmIds);
    await cleanup.flush();
    const steady = Number(span?.seconds ?? 0);
    const dispatch: DispatchResult = {
      dispatchConcurrency,
      workers,
      restConnections: island.connection.rest!.connections,
      followIntervalMs: settings.followIntervalMs,
      jobs: waiting,
      dispatched,
      completedWithinCap: dispatched >= waiting,
      workerBootSeconds: bootSeconds === null ? null : round(bootSeconds, 2),
      secondsFromStart: round(secondsFromStart, 3),
      perSecondFromStart: round(dispatched / secondsFromStart),
      secondsSteady: round(steady, 3),
      perSecondSteady: steady > 0 ? round((dispatched - 1) / steady) : 0,
      finalStates: states,
      cpu: cpuDispatch,
      cpuAfterBoot,
      exits,
    };
    if (!dispatch.completedWithinCap) throw Object.assign(new Error('dispatch did not finish within the time cap'), { partial: dispatch });

    // Phase 3, second half: raw slurmrestd, same concurrency as the dispatcher, same connection pool size.
    const rawAfter = await rawPass(rawHalves[0], rawHalves[1]);
    const raw = baselineResult('rest', island.connection.rest!.connections, dispatchConcurrency, settings.jobs, [rawBefore, rawAfter]);

    // Phase 4: SSH + sbatch on the same island, same concurrency.
    const sshJobs = settings.sshJobs ?? settings.jobs;
    let sshSbatch: BaselineResult | null = null;
    if (sshJobs > 0) {
      log(`${label}: SSH + sbatch submit ${sshJobs}`);
      const pass = await withBaselineClient(state, new SshSlurmClient(island.connection), (client) =>
        baselinePass(client, 'ssh', { first: 0, count: sshJobs }, dispatchConcurrency, island.defaultPartition, SSH_TAG, cleanup),
      );
      sshSbatch = baselineResult('ssh', island.connection.ssh!.maxConnectionsPerUser, dispatchConcurrency, sshJobs, [pass]);
      await cleanup.flush();
      if (sshSbatch.errors > 0) log(`SSH + sbatch errors: ${sshSbatch.errors}, e.g. ${sshSbatch.errorSamples.join(' | ')}`);
    }
    const ratio = (base: BaselineResult | null, rate: number) => (base && base.perSecond > 0 ? round(rate / base.perSecond, 3) : null);

    return {
      island: island.connection.name,
      slurm: islandSlurm(island.connection.name).slurm,
      // pinned in the islands file, or the newest the island serves (what the adapter negotiates)
      restApi: island.connection.rest!.apiVersion ?? islandSlurm(island.connection.name).restApi,
      dispatchConcurrency,
      cpuLayout: { layout: applied.layout, slurmCpus: applied.slurmCpus, controlPlaneCpus: applied.controlPlaneCpus, slurmProcesses: applied.slurmProcesses },
      slurmQueueBefore: queueBefore,
      apiAccept: acceptResult as RoundResult['apiAccept'],
      ...(healthLive ? { healthLive } : {}),
      ...(parts ? { breakdown: parts } : {}),
      dispatch,
      raw,
      ratioFromStart: raw.perSecond > 0 ? round(dispatch.perSecondFromStart / raw.perSecond, 3) : 0,
      ratioSteady: raw.perSecond > 0 ? round(dispatch.perSecondSteady / raw.perSecond, 3) : 0,
      cpuMsPerJob: cpuPerJob(dispatch, raw),
      sshSbatch,
      ratioSshFromStart: ratio(sshSbatch, dispatch.perSecondFromStart),
      ratioSshSteady: ratio(sshSbatch, dispatch.perSecondSteady),
    };
  } finally {
    await api.close().catch(() => undefined);
    await pg.end().catch(() => undefined);
  }
}

function cpuPerJob(dispatch: DispatchResult, raw: BaselineResult): RoundResult['cpuMsPerJob'] {
  const cores = cpus().length;
  const dispatchMs = dispatch.cpuAfterBoot ? cpuMsPer(dispatch.cpuAfterBoot, dispatch.dispatched, cores) : null;
  const rawMs = cpuMsPer(raw.cpu, raw.submitted, cores);
  return { dispatch: dispatchMs, raw: rawMs, cpuBoundCeiling: dispatchMs && dispatchMs.machine > 0 ? round(rawMs.machine / dispatchMs.machine, 3) : null };
}

// ---------------------------------------------------------------------------------------------
// Main

// Issue #19. The accept targets are the accept benchmark's too (benchmarks/accept: its own load generator, several API processes).
const TARGETS = { acceptPerSecond: 2500, acceptP99Ms: 20, dispatchRatioSteady: 0.95, dispatchRatioFromStart: 0.9 };

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const machine = machineAtStart();
  deadline = Date.now() + settings.timeoutSeconds * 1000;
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

  const islands = parseIslandsFile(STACK_ISLANDS);
  const chosen = settings.islands.map((name) => {
    const island = islands.find((i) => i.connection.name === name);
    if (!island?.connection.rest) throw new Error(`island ${name} has no REST connection in ${STACK_ISLANDS}`);
    if (settings.sshJobs !== 0 && !island.connection.ssh) throw new Error(`island ${name} has no SSH connection in ${STACK_ISLANDS} (or pass --ssh-jobs 0)`);
    for (const url of [island.connection.rest.url, ...(island.connection.ssh ? [`ssh://${island.connection.ssh.host}`] : []), PG_ADMIN_URL, REDIS_BASE]) {
      const host = new URL(url).hostname;
      if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') throw new Error(`${url} is not a loopback address`);
    }
    return { island, cleanup: new SlurmCleanup(name) };
  });
  const state: RunState = { cp: null, layout: null, instanceIds: [], baselineClient: null };

  let cleanedUp = false;
  const cleanUp = async () => {
    if (cleanedUp) return;
    cleanedUp = true;
    if (state.cp) await stopControlPlane(state.cp).catch(() => undefined);
    state.layout?.restore();
    await state.baselineClient?.close().catch(() => undefined);
    for (const { island, cleanup } of chosen) {
      await cleanup.flush();
      const swept = await cleanup.sweep([...state.instanceIds.map((id) => `archipelago:${id}:`), RAW_TAG, SSH_TAG]).catch(() => 0);
      if (swept > 0) log(`swept ${swept} leftover pending job(s) of ${island.connection.name} by comment`);
    }
  };
  // Hard stop: even if something hangs, clean up and leave.
  const watchdog = setTimeout(
    () => {
      log('hard time cap reached; cleaning up and exiting');
      const force = setTimeout(() => process.exit(3), 60000);
      force.unref();
      cleanUp().finally(() => process.exit(2));
    },
    (settings.timeoutSeconds + 60) * 1000,
  );
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      cleanUp().finally(() => process.exit(130));
    });
  }

  const rounds: RoundResult[] = [];
  let failure: string | null = null;
  try {
    // Islands alternate, so each one's cancelled jobs age out of slurmctld while the other is measured.
    for (const layout of settings.cpuLayouts) {
      for (const c of settings.dispatchConcurrency) {
        for (const w of settings.workers) {
          for (const { island, cleanup } of chosen) {
            await waitForQuietIsland(cleanup, settings.maxQueue, log);
            rounds.push(await round1(settings, { layout, dispatchConcurrency: c, workers: w }, cleanup, state, island, log));
          }
        }
      }
    }
  } catch (error) {
    failure = (error as Error).message;
    log(`failed: ${failure}${state.cp ? `\n${state.cp.recentLogs()}` : ''}`);
  } finally {
    await cleanUp();
  }

  // The accept target is for the whole machine: split rounds give the API half the cores (cpu-layout.ts).
  const accepts = rounds.filter((r) => r.cpuLayout.layout === 'shared').map((r) => r.apiAccept);
  const result = {
    benchmark: 'submit',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineAtEnd(machine),
    git: await run('git', ['-C', REPO, 'describe', '--always', '--dirty'])
      .then((s) => s.trim())
      .catch(() => null),
    settings,
    targets: TARGETS,
    rounds,
    verdict: {
      acceptPerSecond: accepts.length ? Math.min(...accepts.map((a) => a.perSecond)) : null,
      acceptP99Ms: accepts.length ? Math.max(...accepts.map((a) => a.latencyMs.p99)) : null,
      acceptThroughputPass: accepts.length > 0 && accepts.every((a) => a.errors === 0 && a.perSecond >= TARGETS.acceptPerSecond),
      acceptP99Pass: accepts.length > 0 && accepts.every((a) => a.latencyMs.p99 < TARGETS.acceptP99Ms),
      acceptErrors: accepts.reduce((n, a) => n + a.errors, 0),
      // Per CPU layout: sharing cores with SLURM and SLURM on cores of its own are different questions (cpu-layout.ts).
      dispatchRatioSteadyPass: verdictByLayout(rounds, (r) => r.ratioSteady >= TARGETS.dispatchRatioSteady),
      dispatchRatioFromStartPass: verdictByLayout(rounds, (r) => r.ratioFromStart >= TARGETS.dispatchRatioFromStart),
    },
    cleanup: Object.fromEntries(chosen.map(({ island, cleanup }) => [island.connection.name, cleanup.cancelled])),
    failure,
  };
  const dir = join(REPO, 'benchmarks', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `submit-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
  console.error(summary(result, file));
  process.exitCode = failure ? 1 : 0;
}

/** Whether every round of each layout that ran dispatched something and passed. */
function verdictByLayout(rounds: RoundResult[], passes: (round: RoundResult) => boolean): Partial<Record<CpuLayout, boolean>> {
  const verdict: Partial<Record<CpuLayout, boolean>> = {};
  for (const round of rounds) {
    const layout = round.cpuLayout.layout;
    verdict[layout] = (verdict[layout] ?? true) && round.dispatch.dispatched > 0 && passes(round);
  }
  return verdict;
}

function summary(result: any, file: string): string {
  const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const lines = [`\nsubmit benchmark — ${result.startedAt}, ${result.machine.cpus} cores, N=${result.settings.jobs}, C=${result.settings.concurrency}`];
  for (const r of result.rounds as RoundResult[]) {
    const a = r.apiAccept;
    lines.push(
      `  API accept      ${a.perSecond} jobs/s  p50 ${a.latencyMs.p50} p90 ${a.latencyMs.p90} p99 ${a.latencyMs.p99} max ${a.latencyMs.max} ms  ` +
        `errors ${a.errors}  (API ${a.apiCpuMsPerRequest} ms CPU/req; cores ${JSON.stringify(a.cpu.coresByGroup)})`,
    );
    if (r.healthLive) lines.push(`  GET /health/live ${r.healthLive.perSecond} req/s  p99 ${r.healthLive.latencyMs.p99} ms`);
    if (r.breakdown) {
      for (const [name, b] of Object.entries(r.breakdown))
        lines.push(`  ${name.padEnd(16)} ${b.perSecond} ops/s  p50 ${b.latencyMs.p50} p99 ${b.latencyMs.p99} ms`);
    }
    const cores =
      r.cpuLayout.layout === 'split' ? `SLURM side on cores ${r.cpuLayout.slurmCpus}, the rest on ${r.cpuLayout.controlPlaneCpus}` : 'all on every core';
    lines.push(`  island ${r.island}: SLURM ${r.slurm}, slurmrestd ${r.restApi}; CPU layout ${r.cpuLayout.layout} (${cores})`);
    const d = r.dispatch;
    lines.push(
      `  dispatch c=${d.dispatchConcurrency} w=${d.workers}  ${d.perSecondFromStart} jobs/s from worker spawn (${d.secondsFromStart} s, boot ${d.workerBootSeconds} s), ` +
        `${d.perSecondSteady} jobs/s steady  (cores ${JSON.stringify(d.cpu.coresByGroup)})`,
    );
    lines.push(
      `  raw slurmrestd  ${r.raw.perSecond} jobs/s at c=${r.raw.concurrency} (${r.raw.passes.map((p) => p.perSecond).join(' before, ')} after dispatch)  p50 ${r.raw.latencyMs.p50} p99 ${r.raw.latencyMs.p99} ms  errors ${r.raw.errors}`,
    );
    lines.push(`  ratio dispatch/raw ${r.ratioFromStart} (from spawn), ${r.ratioSteady} (steady)`);
    const perJob = r.cpuMsPerJob;
    if (perJob.dispatch) {
      lines.push(
        `  machine CPU per job: dispatch ${perJob.dispatch.machine} ms ${JSON.stringify(perJob.dispatch.byGroup)}, raw ${perJob.raw.machine} ms ${JSON.stringify(perJob.raw.byGroup)}; CPU-bound ceiling of dispatch/raw ${perJob.cpuBoundCeiling}`,
      );
    }
    if (r.sshSbatch) {
      const s = r.sshSbatch;
      lines.push(`  SSH + sbatch    ${s.perSecond} jobs/s at c=${s.concurrency}  p50 ${s.latencyMs.p50} p99 ${s.latencyMs.p99} ms  errors ${s.errors}`);
      lines.push(`  ratio dispatch/ssh-sbatch ${r.ratioSshFromStart} (from spawn), ${r.ratioSshSteady} (steady)`);
    }
  }
  const v = result.verdict;
  const byLayout = (verdicts: Partial<Record<CpuLayout, boolean>>) =>
    Object.entries(verdicts)
      .map(([layout, ok]) => `${pass(ok === true)} (${layout})`)
      .join(', ');
  lines.push(
    `  targets: accept ≥ ${TARGETS.acceptPerSecond}/s ${pass(v.acceptThroughputPass)}, p99 < ${TARGETS.acceptP99Ms} ms ${pass(v.acceptP99Pass)}, ` +
      `dispatch/raw steady ≥ ${TARGETS.dispatchRatioSteady} ${byLayout(v.dispatchRatioSteadyPass)}, from spawn ≥ ${TARGETS.dispatchRatioFromStart} ${byLayout(v.dispatchRatioFromStartPass)}`,
  );
  if (result.failure) lines.push(`  FAILED: ${result.failure}`);
  for (const [name, c] of Object.entries(result.cleanup as Record<string, SlurmCleanup['cancelled']>)) {
    lines.push(`  ${name}: cancelled ${c.requested} SLURM job(s) in ${c.batches} scancel call(s)${c.errors.length ? `, errors: ${c.errors.join('; ')}` : ''}`);
  }
  lines.push(`  written to ${file}`);
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
