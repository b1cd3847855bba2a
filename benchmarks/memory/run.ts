/**
 * Memory of the control plane (the real API and worker processes) with many tracked jobs.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/memory/run.js [--jobs 100000] [--idle-seconds 15]
 *     [--serve-seconds 20] [--concurrency 16] [--array-share 0.05]
 *
 * Phases, each sampled every 250 ms inside both processes (memory-hook.ts: RSS and V8 heap):
 *   1. empty: the control plane idle with no jobs (the baseline);
 *   2. tracked: N jobs inserted straight into PostgreSQL in a busy system's states (dispatched,
 *      mostly PENDING, some RUNNING, a share of them arrays with their tasks) on the islands of
 *      --islands (default local-a=0.7,local-b=0.3: 22.05 over REST and over SSH; local-c is 24.11),
 *      then idle: the worker's follower asks each island on every tick (production interval, 1 s):
 *      a listing when anything changed (22.05, SSH), the states of a page of jobs by id (24.11);
 *   3. serving: C clients read through the API (GET /v1/jobs pages followed by cursor, GET /v1/jobs/:id);
 *   4. after: idle again (does memory come back down?).
 * The SLURM ids are fictitious and the jobs are dispatched long ago with ARCHIPELAGO_LOST_AFTER_SECONDS
 * at a day, so nothing is submitted to SLURM and no per-job lookups flood the islands: the follower
 * makes its usual calls per island per tick, as it would for real jobs that did not change. CPU is
 * reported per process group, each island's slurmctld and slurmrestd on their own (<island>/slurmctld).
 *
 * Prints JSON (also written to benchmarks/results/memory-<timestamp>.json) and a summary on stderr.
 * Database `bench_memory` (dropped at the end), Redis DB ARCH_BENCH_REDIS_DB (7) of ARCH_TEST_REDIS_URL.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { Pool } from 'undici';
import { ControlPlane, REPO } from '../../test/support/control-plane';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { cpuBetween, cpuSnapshot, type CpuUsage } from '../submit/proc-stats';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  /** Islands and the share of the jobs on each (shares in tenths). */
  islands: Array<{ name: string; share: number }>;
  jobs: number;
  idleSeconds: number;
  serveSeconds: number;
  concurrency: number;
  arrayShare: number;
}

function parseArgs(argv: string[]): Settings {
  const islandsAt = argv.indexOf('--islands');
  const islands = islandsAt >= 0 ? parseIslands(argv.splice(islandsAt, 2)[1] ?? '') : DEFAULT_ISLANDS;
  const s: Settings = { islands, jobs: 100000, idleSeconds: 15, serveSeconds: 20, concurrency: 16, arrayShare: 0.05 };
  eachFlag(argv, { integers: false }, (flag, num) => {
    switch (flag) {
      case '--jobs':
        s.jobs = Math.round(num(1, 2000000));
        break;
      case '--idle-seconds':
        s.idleSeconds = num(2, 600);
        break;
      case '--serve-seconds':
        s.serveSeconds = num(2, 600);
        break;
      case '--concurrency':
        s.concurrency = Math.round(num(1, 256));
        break;
      case '--array-share':
        s.arrayShare = num(0, 1);
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: node dist/benchmarks/memory/run.js [--islands local-a=0.7,local-b=0.3] [--jobs N] [--idle-seconds S] [--serve-seconds S] [--concurrency C] [--array-share F]',
        );
        process.exit(0);
      // no fall through: process.exit does not return
      default:
        throw new Error(`unknown argument ${flag} (try --help)`);
    }
  });
  return s;
}

const DATABASE = 'bench_memory';
const REDIS_DB = Number(process.env.ARCH_BENCH_REDIS_DB ?? 7);
const ARRAY_TASKS = 8;
/** Far above any real SLURM id on the local islands, so a fictitious id never matches a real job. */
const SLURM_ID_BASE = 50_000_000;
const DEFAULT_ISLANDS = [
  { name: 'local-a', share: 0.7 },
  { name: 'local-b', share: 0.3 },
];

/** `local-a=0.7,local-b=0.3` (tenths, summing to 1), or names only for equal shares. */
function parseIslands(value: string): Settings['islands'] {
  const islands = value.split(',').map((part) => {
    const [name, share] = part.split('=');
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error(`--islands: ${JSON.stringify(name)} is not an island name`);
    return { name, share: share === undefined ? NaN : Number(share) };
  });
  if (islands.every((i) => Number.isNaN(i.share))) for (const i of islands) i.share = 1 / islands.length;
  const tenths = islands.map((i) => Math.round(i.share * 10));
  if (tenths.some((t) => t < 1) || tenths.reduce((a, b) => a + b, 0) !== 10) throw new Error('--islands: shares are tenths summing to 1');
  return islands;
}

/** Ten island names by share: a job's island is the (g mod 10)-th. */
function islandByTenth(islands: Settings['islands']): string[] {
  return islands.flatMap((i) => Array.from({ length: Math.round(i.share * 10) }, () => i.name));
}

/** Each island's slurmctld and slurmrestd by the pid files island-up.sh writes (none for an SSH-only view of a shared island). */
function islandDaemons(islands: Settings['islands']): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const { name } of islands) {
    for (const daemon of ['slurmctld', 'slurmrestd']) {
      try {
        pids[`${name}/${daemon}`] = Number(readFileSync(`/run/archipelago/islands/${name}/${daemon}.pid`, 'utf8').trim());
      } catch {
        // not running here: its CPU lands in the daemon's group
      }
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const log = (line: string) => process.stderr.write(`[memory ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Samples written by memory-hook.ts

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  afterGc?: boolean;
}

interface MemoryStats {
  samples: number;
  rssMiB: { mean: number; max: number };
  heapUsedMiB: { mean: number; max: number };
  heapTotalMiB: { max: number };
  externalMiB: { max: number };
  /** Heap in use right after a full GC at the end of the phase: what the process retains. */
  retainedHeapMiB: number | null;
}

function readSamples(dir: string, role: 'api' | 'worker', pid: number): Sample[] {
  try {
    return readFileSync(join(dir, `${role}-${pid}.jsonl`), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Sample);
  } catch {
    return [];
  }
}

function stats(all: Sample[]): MemoryStats | null {
  const samples = all.filter((s) => !s.afterGc);
  const retained = all.filter((s) => s.afterGc).pop();
  if (samples.length === 0) return null;
  const mean = (pick: (s: Sample) => number) => mib(samples.reduce((a, s) => a + pick(s), 0) / samples.length);
  const max = (pick: (s: Sample) => number) => mib(Math.max(...samples.map(pick)));
  return {
    samples: samples.length,
    rssMiB: { mean: mean((s) => s.rss), max: max((s) => s.rss) },
    heapUsedMiB: { mean: mean((s) => s.heapUsed), max: max((s) => s.heapUsed) },
    heapTotalMiB: { max: max((s) => s.heapTotal) },
    externalMiB: { max: max((s) => s.external) },
    retainedHeapMiB: retained ? mib(retained.heapUsed) : null,
  };
}

interface PhaseResult {
  seconds: number;
  api: MemoryStats | null;
  worker: MemoryStats | null;
  cpu: CpuUsage;
}

// ---------------------------------------------------------------------------------------------
// Tracked jobs, inserted server-side in one statement per kind

async function insertTrackedJobs(pg: Client, settings: Settings, owners: string[]): Promise<{ jobs: number; tasks: number; byState: Record<string, number> }> {
  const policy = {
    slurmUser: 'alice',
    workdirRoots: ['/home/{user}'],
    defaultEnvironment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    maxScriptBytes: 1 << 20,
    partitions: new Set(['debug']),
  };
  const single = normalizeSubmission({ script: '#!/bin/bash\n#SBATCH --job-name=bench-memory\nsrun hostname\n' }, policy);
  const array = normalizeSubmission(
    { script: `#!/bin/bash\n#SBATCH --job-name=bench-memory-array\n#SBATCH --array=0-${ARRAY_TASKS - 1}\nsrun hostname\n` },
    policy,
  );
  const arrays = Math.round(settings.jobs * settings.arrayShare);
  const insert = `
    INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, island, partition,
                      state, state_reason, slurm_job_id, array_size, nodes, batch_host, submitted_at, dispatched_at, started_at, updated_at)
    SELECT ($1::uuid[])[1 + g % cardinality($1::uuid[])], 'alice', sha256(g::text::bytea), $2, $3, $4::jsonb, $5::jsonb, '/home/alice',
           ($6::text[])[1 + g % 10], 'debug',
           -- About 2 in 3 waiting, 1 in 3 running: a queue deeper than the machines.
           CASE WHEN g % 3 = 0 THEN 'RUNNING' ELSE 'PENDING' END,
           CASE WHEN g % 3 = 0 THEN NULL ELSE 'Resources' END,
           $7::bigint + g, $8::int,
           CASE WHEN g % 3 = 0 THEN 'n' || (g % 64) END, CASE WHEN g % 3 = 0 THEN 'n' || (g % 64) END,
           now() - interval '2 hours', now() - interval '1 hour', CASE WHEN g % 3 = 0 THEN now() - interval '30 minutes' END, now() - interval '30 minutes'
      FROM generate_series($9::int, $10::int) AS g`;
  const split = islandByTenth(settings.islands);
  await pg.query(insert, [owners, single.name, single.script, single.spec, single.environment, split, SLURM_ID_BASE, null, 1, settings.jobs - arrays]);
  if (arrays > 0) {
    await pg.query(insert, [
      owners,
      array.name,
      array.script,
      array.spec,
      array.environment,
      split,
      SLURM_ID_BASE,
      ARRAY_TASKS,
      settings.jobs - arrays + 1,
      settings.jobs,
    ]);
    // Each array's tasks: a running array has some tasks running and the rest pending.
    await pg.query(`
      INSERT INTO job_tasks (job_id, task_id, slurm_job_id, state, nodes, batch_host, started_at)
      SELECT j.id, t, j.slurm_job_id * 16 + t,
             CASE WHEN j.state = 'RUNNING' AND t < ${ARRAY_TASKS / 2} THEN 'RUNNING' ELSE 'PENDING' END,
             CASE WHEN j.state = 'RUNNING' AND t < ${ARRAY_TASKS / 2} THEN j.nodes END,
             CASE WHEN j.state = 'RUNNING' AND t < ${ARRAY_TASKS / 2} THEN j.batch_host END,
             CASE WHEN j.state = 'RUNNING' AND t < ${ARRAY_TASKS / 2} THEN j.started_at END
        FROM jobs j, generate_series(0, ${ARRAY_TASKS - 1}) AS t
       WHERE j.array_size IS NOT NULL`);
  }
  await pg.query('ANALYZE jobs, job_tasks');
  const byState = Object.fromEntries(
    (await pg.query('SELECT state, count(*)::int AS n FROM jobs GROUP BY state ORDER BY state')).rows.map((r) => [r.state, r.n]),
  );
  const [{ jobs, tasks }] = (await pg.query('SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_tasks)::int AS tasks')).rows;
  return { jobs, tasks, byState };
}

// ---------------------------------------------------------------------------------------------
// Read load through the API

interface ServeResult {
  requests: number;
  errors: number;
  errorSamples: string[];
  perSecond: number;
  listPages: number;
  gets: number;
  latencyMs: { p50: number; p99: number; max: number };
}

async function serve(url: string, readers: Array<{ key: string; ids: string[] }>, settings: Settings): Promise<ServeResult> {
  const pool = new Pool(url, { connections: settings.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let listPages = 0;
  let gets = 0;
  const until = performance.now() + settings.serveSeconds * 1000;
  const started = performance.now();
  const client = async (n: number) => {
    const reader = readers[n % readers.length];
    const headers = { authorization: `Bearer ${reader.key}` };
    let cursor: string | null = null as string | null;
    for (let i = 0; performance.now() < until; i++) {
      // Half the requests walk the owner's job list page by page (as a dashboard or CLI does), half open one job.
      const listing = i % 2 === 0;
      const path: string = listing
        ? `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        : `/v1/jobs/${reader.ids[Math.floor(Math.random() * reader.ids.length)]}`;
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET', headers });
        const text: string = await res.body.text();
        latencies.push(performance.now() - t0);
        if (res.statusCode !== 200) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`${res.statusCode} ${path} ${text.slice(0, 200)}`);
          continue;
        }
        if (listing) {
          listPages++;
          cursor = (JSON.parse(text) as { nextCursor: string | null }).nextCursor;
        } else {
          gets++;
        }
      } catch (error) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, (_, n) => client(n)));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)], 2) : 0);
  return {
    requests: latencies.length,
    errors,
    errorSamples,
    perSecond: round(latencies.length / seconds),
    listPages,
    gets,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: sorted.length ? round(sorted[sorted.length - 1], 2) : 0 },
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const machine = machineAtStart();
  const sampleDir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  const cp = new ControlPlane('memory_bench', {
    databaseName: DATABASE,
    islands: settings.islands.map(({ name }) => ({ name })),
    redisDb: REDIS_DB,
    env: {
      NODE_OPTIONS: `--require ${join(__dirname, 'memory-hook.js')}`,
      ARCH_BENCH_MEMORY_DIR: sampleDir,
      // Production defaults, not the test suite's fast ones.
      ARCHIPELAGO_FOLLOW_INTERVAL_MS: '1000',
      ARCHIPELAGO_RECONCILE_INTERVAL_MS: '15000',
      ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '30',
      // The fictitious SLURM ids are never in a listing: without this the follower would ask SLURM for each one.
      ARCHIPELAGO_LOST_AFTER_SECONDS: '86400',
    },
  });
  let pg: Client | null = null;
  let failure: string | null = null;
  const phases: Record<string, PhaseResult> = {};
  let inserted: Awaited<ReturnType<typeof insertTrackedJobs>> | null = null;
  let serving: ServeResult | null = null;
  let followFailures = 0;
  const onSignal = (signal: string) => {
    log(`${signal}: stopping`);
    Promise.race([cp.stop(), sleep(10000)]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await cp.start();
    const api = cp.pid('api');
    const worker = cp.pid('worker');
    const daemons = islandDaemons(settings.islands);
    const readers = await Promise.all(['alice', 'bob'].map((user) => cp.researcher(`bench-memory-${user}`, 'alice')));
    pg = new Client({ connectionString: cp.databaseUrl });
    await pg.connect();
    const db = pg;

    const phase = async (name: string, work: () => Promise<void>) => {
      const before = cpuSnapshot({ api, worker, ...daemons });
      const t0 = Date.now();
      await work();
      // A full GC in both processes, so that the phase also reports what is retained.
      for (const pid of [api, worker]) process.kill(pid, 'SIGWINCH');
      await sleep(1500);
      const t1 = Date.now();
      const inWindow = (role: 'api' | 'worker', pid: number) => readSamples(sampleDir, role, pid).filter((s) => s.t >= t0 && s.t <= t1);
      phases[name] = {
        seconds: round((t1 - t0) / 1000, 1),
        api: stats(inWindow('api', api)),
        worker: stats(inWindow('worker', worker)),
        cpu: cpuBetween(before, cpuSnapshot({ api, worker, ...daemons })),
      };
      log(`${name}: api RSS ${phases[name].api?.rssMiB.max} MiB, worker RSS ${phases[name].worker?.rssMiB.max} MiB (max)`);
    };

    // Let both processes finish booting (the worker's first follower ticks) before the baseline.
    await sleep(3000);
    await phase('empty', () => sleep(settings.idleSeconds * 1000));

    log(`inserting ${settings.jobs} tracked jobs`);
    const t0 = performance.now();
    inserted = await insertTrackedJobs(
      db,
      settings,
      readers.map((r) => r.id),
    );
    const insertSeconds = round((performance.now() - t0) / 1000, 2);
    log(`inserted ${inserted.jobs} jobs and ${inserted.tasks} tasks in ${insertSeconds} s`);
    await phase('tracked', () => sleep(settings.idleSeconds * 1000));

    const ids = new Map<string, string[]>(readers.map((r) => [r.id, []]));
    for (const row of (await db.query('SELECT id, owner_id FROM jobs')).rows) ids.get(row.owner_id)!.push(String(row.id));
    await phase('serving', async () => {
      serving = await serve(
        cp.url,
        readers.map((r) => ({ key: r.key, ids: ids.get(r.id)! })),
        settings,
      );
    });
    await phase('after', () => sleep(settings.idleSeconds * 1000));
    followFailures = (cp.keptLogs().match(/following \S+ failed/g) ?? []).length;
    Object.assign(inserted, { insertSeconds });
  } catch (error) {
    failure = (error as Error).message;
    log(`failed: ${failure}\n${cp.recentLogs()}`);
  } finally {
    await pg?.end().catch(() => undefined);
    await Promise.race([cp.stop(), sleep(10000)]);
    const admin = new Client({ connectionString: new URL(`/postgres`, cp.databaseUrl || 'postgres://postgres@127.0.0.1:55432').toString() });
    await admin
      .connect()
      .then(() => admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`))
      .catch(() => undefined);
    await admin.end().catch(() => undefined);
  }

  const growth = (role: 'api' | 'worker', to: string) => {
    const base = phases.empty?.[role];
    const at = phases[to]?.[role];
    return base && at
      ? {
          rssMiB: round(at.rssMiB.max - base.rssMiB.mean),
          heapUsedMiB: round(at.heapUsedMiB.max - base.heapUsedMiB.mean),
          retainedHeapMiB: at.retainedHeapMiB !== null && base.retainedHeapMiB !== null ? round(at.retainedHeapMiB - base.retainedHeapMiB) : null,
        }
      : null;
  };
  const result = {
    benchmark: 'memory',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings,
    baseline: 'the same processes idle with no jobs (phase "empty")',
    inserted,
    phases,
    serving,
    // Peak of each phase minus the empty baseline's mean; retained: after-GC heap minus the empty phase's after-GC heap.
    growth: Object.fromEntries(['tracked', 'serving', 'after'].map((p) => [p, { api: growth('api', p), worker: growth('worker', p) }])),
    followFailures,
    failure,
  };
  rmSync(sampleDir, { recursive: true, force: true });
  const dir = join(REPO, 'benchmarks', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `memory-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
  const lines = [`\nmemory benchmark — ${result.startedAt}, ${settings.jobs} tracked jobs`];
  for (const [name, p] of Object.entries(phases)) {
    lines.push(
      `  ${name.padEnd(8)} api RSS ${p.api?.rssMiB.mean}/${p.api?.rssMiB.max} MiB heap ${p.api?.heapUsedMiB.max} (retained ${p.api?.retainedHeapMiB}) MiB | ` +
        `worker RSS ${p.worker?.rssMiB.mean}/${p.worker?.rssMiB.max} MiB heap ${p.worker?.heapUsedMiB.max} (retained ${p.worker?.retainedHeapMiB}) MiB (RSS mean/max) | cores ${JSON.stringify(p.cpu.coresByGroup)}`,
    );
  }
  const s = serving as ServeResult | null;
  if (s)
    lines.push(`  serving  ${s.perSecond} req/s (${s.listPages} pages, ${s.gets} gets) p50 ${s.latencyMs.p50} p99 ${s.latencyMs.p99} ms errors ${s.errors}`);
  lines.push(`  growth over empty: ${JSON.stringify(result.growth)}`);
  if (followFailures) lines.push(`  follower failures logged: ${followFailures}`);
  if (failure) lines.push(`  FAILED: ${failure}`);
  lines.push(`  written to ${file}`);
  console.error(lines.join('\n'));
  process.exitCode = failure || (s && s.errors > 0) ? 1 : 0;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
