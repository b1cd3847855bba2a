/**
 * What a large held array costs the control plane while nothing happens to it: the follower's CPU
 * and PostgreSQL's, per tick, with and without a held N-task array on a real island.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/arrays/run.js [--tasks 10000] [--seconds 30]
 *     [--island local-a] [--quiet-island] [--no-write]
 *
 * A busy island changes every second, so each follower tick gets a full listing and observes every
 * job: the benchmark makes it busy with a held job of root's (not Archipelago's) renamed every second
 * (`scontrol update`, with the SLURM CLI as root). `--quiet-island` leaves that out: then only
 * SLURM's own updates make a listing full.
 *
 * Phases, on the island's real SLURM through the real API and worker (production follow interval, 1 s):
 *   1. quiet: one held job on the island, so the follower has something to follow (the baseline);
 *   2. held array: plus a held N-task array, measured once SLURM reports it PENDING and its N task
 *      rows are stored (the first observation writes them; that one-time cost is not measured).
 * In each phase: CPU of the worker process and of this database's PostgreSQL backends (from /proc),
 * rows written to job_tasks and transactions committed (pg_stat), and the follower's listings
 * (the worker's own metrics). At the end both jobs are cancelled through the API.
 *
 * Prints JSON (also written to benchmarks/results/arrays-<timestamp>.json) and a summary on stderr.
 * Database `bench_arrays`, Redis DB ARCH_BENCH_REDIS_DB (7) of ARCH_TEST_REDIS_URL.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { ControlPlane, freePort } from '../../test/support/control-plane';
import { processCpuSeconds } from '../submit/proc-stats';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  tasks: number;
  seconds: number;
  island: string;
  busy: boolean;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { tasks: 10000, seconds: 30, island: 'local-a', busy: true, write: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--island') {
      s.island = argv.splice(i, 2)[1] ?? '';
      i--;
    } else if (argv[i] === '--no-write' || argv[i] === '--quiet-island') {
      if (argv[i] === '--no-write') s.write = false;
      else s.busy = false;
      argv.splice(i--, 1);
    }
  }
  eachFlag(argv, { integers: true }, (flag, num) => {
    switch (flag) {
      case '--tasks':
        s.tasks = num(1, 10000);
        break;
      case '--seconds':
        s.seconds = num(5, 600);
        break;
      default:
        throw new Error(`unknown argument ${flag} (usage: [--tasks N] [--seconds S] [--island NAME] [--quiet-island] [--no-write])`);
    }
  });
  if (!/^[a-z0-9-]+$/.test(s.island)) throw new Error('--island needs an island name');
  return s;
}

const DATABASE = 'bench_arrays';
const REDIS_DB = Number(process.env.ARCH_BENCH_REDIS_DB ?? 7);
const FOLLOW_INTERVAL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (line: string) => process.stderr.write(`[arrays ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Counters {
  at: number;
  workerCpu: number;
  /** CPU seconds per backend pid of this database. */
  backends: Map<number, number>;
  taskRowsWritten: number;
  commits: number;
  listings: number;
}

async function backendCpu(db: Client): Promise<Map<number, number>> {
  const pids = (await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows.map((r) => r.pid as number);
  return new Map(
    pids.flatMap((pid) => {
      const cpu = processCpuSeconds(pid);
      return cpu === null ? [] : [[pid, cpu] as [number, number]];
    }),
  );
}

/** The worker's list_jobs calls so far (304s included), from its Prometheus listener. */
async function listings(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('archipelago_slurm_call_duration_seconds_count{') && line.includes('operation="list_jobs"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function counters(cp: ControlPlane, db: Client, metricsUrl: string): Promise<Counters> {
  // pg_stat counters are flushed by each backend at most once a second: ask for a fresh view.
  await db.query('SELECT pg_stat_clear_snapshot()');
  const [stats] = (
    await db.query(
      `SELECT (SELECT coalesce(n_tup_ins + n_tup_upd, 0) FROM pg_stat_user_tables WHERE relname = 'job_tasks')::bigint AS written,
              (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::bigint AS commits`,
    )
  ).rows;
  return {
    at: Date.now(),
    workerCpu: processCpuSeconds(cp.pid('worker')) ?? 0,
    backends: await backendCpu(db),
    taskRowsWritten: Number(stats.written),
    commits: Number(stats.commits),
    listings: await listings(metricsUrl),
  };
}

/** Per-second rates between two readings; a backend that appeared in between counts from zero. */
function between(a: Counters, b: Counters) {
  const seconds = (b.at - a.at) / 1000;
  let pgCpu = 0;
  for (const [pid, cpu] of b.backends) pgCpu += cpu - (a.backends.get(pid) ?? 0);
  return {
    seconds: round(seconds, 1),
    workerCores: round((b.workerCpu - a.workerCpu) / seconds),
    postgresCores: round(pgCpu / seconds),
    taskRowsWrittenPerSecond: round((b.taskRowsWritten - a.taskRowsWritten) / seconds, 1),
    commitsPerSecond: round((b.commits - a.commits) / seconds, 1),
    listingsPerSecond: round((b.listings - a.listings) / seconds, 2),
  };
}

async function measure(cp: ControlPlane, db: Client, metricsUrl: string, seconds: number) {
  const start = await counters(cp, db, metricsUrl);
  await sleep(seconds * 1000);
  return between(start, await counters(cp, db, metricsUrl));
}

/** A held job of root's on the island, renamed every second: SLURM's listing changes on every tick. */
function busyIsland(island: string): { stop: () => void } {
  const env = { ...process.env, SLURM_CONF: `/etc/archipelago/islands/${island}/slurm.conf` };
  const out = execFileSync('sbatch', ['--parsable', '--hold', '--job-name=arrays-bench-busy', '--comment=archipelago-bench:arrays-busy', '--wrap=true'], {
    env,
  });
  const jobId = out.toString().trim().split(';')[0];
  let n = 0;
  const timer = setInterval(() => {
    try {
      execFileSync('scontrol', ['update', `jobid=${jobId}`, `name=arrays-bench-busy-${++n}`], { env });
    } catch (error) {
      log(`renaming ${jobId}: ${(error as Error).message}`);
    }
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      try {
        execFileSync('scancel', [jobId], { env });
      } catch (error) {
        log(`cancelling ${jobId}: ${(error as Error).message}`);
      }
    },
  };
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const cp = new ControlPlane('arrays-bench', {
    islands: [{ name: s.island }],
    databaseName: DATABASE,
    redisDb: REDIS_DB,
    env: { ARCHIPELAGO_FOLLOW_INTERVAL_MS: String(FOLLOW_INTERVAL_MS), METRICS_PORT: String(metricsPort), ARCHIPELAGO_LOG_LEVEL: 'warn' },
  });
  await cp.start();
  const db = new Client({ connectionString: cp.databaseUrl });
  const submitted: string[] = [];
  let alice: { id: string; key: string } | null = null;
  const busy = s.busy ? busyIsland(s.island) : null;
  try {
    await db.connect();
    alice = await cp.researcher('alice', 'alice');
    const key = alice.key;
    const submit = async (options: Record<string, unknown>) => {
      const res = await cp.request('POST', '/v1/jobs', key, { script: '#!/bin/bash\ntrue\n', options: { hold: true, time: 5, ...options } });
      if (res.status !== 202) throw new Error(`submit: ${res.status} ${res.text}`);
      submitted.push(res.json.id);
      return res.json.id as string;
    };
    const quiet = await submit({ 'job-name': 'arrays-bench-quiet' });
    await cp.waitForJob(key, quiet, (j) => j.state === 'PENDING' && /JobHeld/.test(j.stateReason ?? ''), 60_000);
    await sleep(3 * FOLLOW_INTERVAL_MS);
    log(`phase quiet: one held job, ${s.seconds} s`);
    const quietPhase = await measure(cp, db, metricsUrl, s.seconds);

    const array = await submit({ 'job-name': 'arrays-bench-held', array: `0-${s.tasks - 1}` });
    const firstSeen = Date.now();
    await cp.waitForJob(key, array, (j) => j.state === 'PENDING' && /JobHeld/.test(j.stateReason ?? '') && j.array?.tasks?.PENDING === s.tasks, 120_000);
    log(`array of ${s.tasks} held and stored after ${((Date.now() - firstSeen) / 1000).toFixed(1)} s`);
    await sleep(3 * FOLLOW_INTERVAL_MS);
    log(`phase held array: ${s.seconds} s`);
    const heldPhase = await measure(cp, db, metricsUrl, s.seconds);

    const result = {
      benchmark: 'arrays',
      at: new Date().toISOString(),
      machine: machineAtEnd(machine),
      settings: { ...s, followIntervalMs: FOLLOW_INTERVAL_MS },
      phases: { quiet: quietPhase, heldArray: heldPhase },
      added: {
        workerCores: round(heldPhase.workerCores - quietPhase.workerCores),
        postgresCores: round(heldPhase.postgresCores - quietPhase.postgresCores),
        taskRowsWrittenPerSecond: heldPhase.taskRowsWrittenPerSecond,
      },
    };
    const json = JSON.stringify(result, null, 2);
    console.log(json);
    console.error(
      `arrays: ${s.tasks}-task held array on ${s.busy ? 'busy' : 'quiet'} ${s.island}: worker ${quietPhase.workerCores} → ${heldPhase.workerCores} cores, ` +
        `PostgreSQL ${quietPhase.postgresCores} → ${heldPhase.postgresCores} cores, ${heldPhase.taskRowsWrittenPerSecond} task rows written/s, ` +
        `${heldPhase.listingsPerSecond} listings/s`,
    );
    if (s.write) {
      const dir = resolve(__dirname, '../../../benchmarks/results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `arrays-${result.at.replace(/[:.]/g, '-')}.json`), json + '\n');
    }
  } finally {
    busy?.stop();
    if (alice) for (const id of submitted) await cp.request('DELETE', `/v1/jobs/${id}`, alice.key).catch(() => undefined);
    if (alice)
      for (const id of submitted)
        await cp.waitForJob(alice.key, id, (j) => j.endedAt !== null, 60_000).catch((e) => log(`cleanup of ${id}: ${e.message.split('\n')[0]}`));
    await db.end().catch(() => undefined);
    await cp.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
