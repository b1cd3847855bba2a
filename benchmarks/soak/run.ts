/**
 * Soak: a steady stream of submissions for a long time against the real control plane (API and worker
 * processes) and a real SLURM island, reporting throughput, error rate, latency percentiles per window and
 * memory growth of both processes.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/soak/run.js [--rate 500] [--seconds 600] [--in-flight 128]
 *
 * Arrivals are open-loop: submission i is due at start + i / rate, whether or not earlier ones answered
 * (at most --in-flight outstanding; a due submission that finds no free slot counts as late, and its
 * latency is measured from when it was due, so a slow API shows up as latency, not as a lower rate).
 * Jobs are submitted held (nothing runs), dispatched into the benchmark's own island `soak-a` (index 6,
 * MinJobAge 10 s so SLURM's job table stays bounded, state on tmpfs: see STATE_DIR), and cancelled there in bulk every few seconds
 * (`scancel -u alice`, as an operator would), which the follower then observes: the whole job path works
 * for the whole run. Baseline: the target rate itself (the 500/s for 10 minutes).
 *
 * JSON on stdout and in benchmarks/results/soak-<timestamp>.json; a summary on stderr. Database
 * `bench_soak`, Redis DB ARCH_BENCH_REDIS_DB (7) of ARCH_TEST_REDIS_URL.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { ControlPlane, freePort, REPO } from '../../test/support/control-plane';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

const ISLAND = 'soak-a';
const ISLAND_INDEX = 6;
/**
 * slurmctld creates and deletes a directory and two files per job in its StateSaveLocation; at
 * 500 jobs/s on ext4 the inode allocator's scans of recently deleted inodes cost slurmctld up to
 * 0.7 of this machine's 2 cores (measured), so the benchmark's island keeps its state on tmpfs.
 */
const STATE_DIR = `/dev/shm/archipelago/islands/${ISLAND}/ctld`;
const WINDOW_SECONDS = 10;
const CANCEL_EVERY_MS = 3000;
const SCRIPT = '#!/bin/bash\n#SBATCH --time=1\n#SBATCH --hold\ntrue\n';
const run = promisify(execFile);

interface Settings {
  rate: number;
  seconds: number;
  inFlight: number;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { rate: 500, seconds: 600, inFlight: 128 };
  eachFlag(argv, { integers: false }, (flag, num) => {
    if (flag === '--rate') s.rate = num(1, 20000);
    else if (flag === '--seconds') s.seconds = num(5, 86400);
    else if (flag === '--in-flight') s.inFlight = Math.round(num(1, 4096));
    else throw new Error(`unknown flag ${flag} (--rate R --seconds S --in-flight N)`);
  });
  return s;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** V8 heap in use (prom-client's default gauge): unlike RSS, it shows whether live objects pile up. */
async function heapUsedMiB(metricsUrl: string): Promise<number> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
    return line ? Number(line.split(' ')[1]) / 2 ** 20 : 0;
  } catch {
    return 0;
  }
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return line ? Number(line.replace(/\D+/g, '')) / 1024 : 0;
}

interface Window {
  second: number;
  submitted: number;
  errors: number;
  late: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  apiRssMiB: number;
  workerRssMiB: number;
  apiHeapMiB: number;
  workerHeapMiB: number;
  /** Jobs that reached SLURM in this window (filled in at the end). */
  dispatched?: number;
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const log = (line: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  log(`island ${ISLAND} (index ${ISLAND_INDEX}), ${settings.rate}/s for ${settings.seconds} s`);
  execFileSync('bash', [join(REPO, 'slurm/local/island-up.sh'), ISLAND, String(ISLAND_INDEX)], {
    env: { ...process.env, NODES: '2', MIN_JOB_AGE: '10', MAX_JOB_COUNT: '200000', KEEP_STATE: '0', STATE_DIR },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const entry = JSON.parse(readFileSync(`/etc/archipelago/islands/${ISLAND}/island.json`, 'utf8'));
  const workerMetricsPort = await freePort();
  const cp = new ControlPlane('soak', {
    islands: [],
    islandEntries: [entry],
    databaseName: 'bench_soak',
    redisDb: Number(process.env.ARCH_BENCH_REDIS_DB ?? 7),
    // The control plane's own defaults for its loops (ControlPlane tightens them for the test suites).
    env: {
      ARCHIPELAGO_RATE_LIMITS: 'off',
      ARCHIPELAGO_LOG_LEVEL: 'warn',
      ARCHIPELAGO_FOLLOW_INTERVAL_MS: '1000',
      ARCHIPELAGO_RECONCILE_INTERVAL_MS: '15000',
      ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '30',
      METRICS_PORT: String(workerMetricsPort),
    },
  });
  const conf = `/etc/archipelago/islands/${ISLAND}/slurm.conf`;
  let stopCancelling = false;
  let cancelRounds = 0;
  const canceller = (async () => {
    while (!stopCancelling) {
      await new Promise((r) => setTimeout(r, CANCEL_EVERY_MS));
      await run('scancel', ['-u', 'alice'], { env: { ...process.env, SLURM_CONF: conf } }).catch(() => undefined);
      cancelRounds++;
    }
  })();
  try {
    await cp.start();
    const alice = await cp.researcher('soak-alice', 'alice');
    const pool = new Pool(cp.url, { connections: settings.inFlight, pipelining: 1 });
    const api = cp.pid('api');
    const worker = cp.pid('worker');
    const windows: Window[] = [];
    let current = { latencies: [] as number[], errors: 0, late: 0 };
    const errorSamples: string[] = [];
    let outstanding = 0;
    let total = 0;
    let errors = 0;
    const started = performance.now();
    const startedAtMs = Date.now();
    const due = Math.round(settings.rate * settings.seconds);
    // Sampled in the background as each window closes, so a window shows the previous one's sample.
    const heaps = { api: 0, worker: 0 };
    const sampleHeaps = async () => {
      [heaps.api, heaps.worker] = await Promise.all([heapUsedMiB(`${cp.url}/metrics`), heapUsedMiB(`http://127.0.0.1:${workerMetricsPort}/metrics`)]);
    };
    const closeWindow = (second: number) => {
      const sorted = current.latencies.sort((a, b) => a - b);
      void sampleHeaps();
      windows.push({
        second,
        submitted: sorted.length,
        errors: current.errors,
        late: current.late,
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted[sorted.length - 1] ?? 0),
        apiRssMiB: round(rssMiB(api)),
        workerRssMiB: round(rssMiB(worker)),
        apiHeapMiB: round(heaps.api),
        workerHeapMiB: round(heaps.worker),
      });
      const w = windows[windows.length - 1];
      log(
        `t=${second}s ${round(w.submitted / WINDOW_SECONDS)}/s p50 ${w.p50Ms} p99 ${w.p99Ms} ms errors ${w.errors} late ${w.late} | RSS api ${w.apiRssMiB} worker ${w.workerRssMiB} MiB | heap api ${w.apiHeapMiB} worker ${w.workerHeapMiB} MiB`,
      );
      current = { latencies: [], errors: 0, late: 0 };
    };
    let nextWindow = WINDOW_SECONDS;
    const body = JSON.stringify({ script: SCRIPT });
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < due; i++) {
      const dueAt = started + (i / settings.rate) * 1000;
      const wait = dueAt - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      while ((performance.now() - started) / 1000 >= nextWindow) {
        closeWindow(nextWindow);
        nextWindow += WINDOW_SECONDS;
      }
      if (outstanding >= settings.inFlight) {
        current.late++;
        await Promise.race(inflight);
      }
      outstanding++;
      const request = (async () => {
        try {
          const answer = await pool.request({
            method: 'POST',
            path: '/v1/jobs',
            headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json' },
            body,
          });
          const text = await answer.body.text();
          if (answer.statusCode !== 202) {
            current.errors++;
            errors++;
            if (errorSamples.length < 5) errorSamples.push(`${answer.statusCode} ${text.slice(0, 200)}`);
          }
        } catch (error) {
          current.errors++;
          errors++;
          if (errorSamples.length < 5) errorSamples.push((error as Error).message);
        } finally {
          current.latencies.push(performance.now() - dueAt);
          total++;
          outstanding--;
        }
      })();
      inflight.add(request);
      void request.finally(() => inflight.delete(request));
    }
    await Promise.all(inflight);
    closeWindow(nextWindow);
    const elapsed = (performance.now() - started) / 1000;
    await pool.close();
    // Did the job path keep up? Jobs still waiting for dispatch once arrivals stop.
    const backlog = Number((await cp.sql(`SELECT count(*) AS n FROM jobs WHERE state IN ('ACCEPTED', 'DISPATCHING')`))[0].n);
    // Did dispatch keep pace, window by window? Jobs that reached SLURM, by when they did.
    const dispatchedRows = await cp.sql(
      `SELECT floor(extract(epoch FROM dispatched_at - to_timestamp(${startedAtMs / 1000})) / ${WINDOW_SECONDS})::int AS w, count(*)::int AS n
         FROM jobs WHERE dispatched_at IS NOT NULL GROUP BY 1`,
    );
    const dispatchedIn = new Map(dispatchedRows.map((r) => [Number(r.w), Number(r.n)]));
    for (const w of windows) w.dispatched = dispatchedIn.get(w.second / WINDOW_SECONDS - 1) ?? 0;
    const dispatchedTotal = dispatchedRows.reduce((t, r) => t + Number(r.n), 0);
    const full = windows.filter((w) => w.submitted > 0);
    const firstMinute = full.slice(0, Math.max(1, Math.round(60 / WINDOW_SECONDS)));
    const lastMinute = full.slice(-Math.max(1, Math.round(60 / WINDOW_SECONDS)));
    const avg = (ws: Window[], pick: (w: Window) => number) => round(ws.reduce((t, w) => t + pick(w), 0) / ws.length);
    const result = {
      benchmark: 'soak',
      startedAt: new Date(Date.now() - elapsed * 1000).toISOString(),
      machine: machineAtEnd(machine),
      settings,
      baseline: { targetRatePerSecond: settings.rate, targetSeconds: settings.seconds },
      submitted: total,
      errors,
      errorRate: total ? round(errors / total, 5) : 0,
      errorSamples,
      seconds: round(elapsed, 2),
      achievedPerSecond: round(total / elapsed),
      heldTargetRate: total / elapsed >= settings.rate * 0.98,
      // The whole job path kept pace: by the end of the arrivals at most 5 s of them await dispatch.
      dispatchKeptUp: backlog <= settings.rate * 5,
      dispatched: dispatchedTotal,
      latencyMs: {
        p50OfWindows: round(Math.max(...full.map((w) => w.p50Ms))),
        worstWindowP99: round(Math.max(...full.map((w) => w.p99Ms))),
        max: round(Math.max(...full.map((w) => w.maxMs))),
      },
      memoryMiB: {
        apiFirstMinute: avg(firstMinute, (w) => w.apiRssMiB),
        apiLastMinute: avg(lastMinute, (w) => w.apiRssMiB),
        workerFirstMinute: avg(firstMinute, (w) => w.workerRssMiB),
        workerLastMinute: avg(lastMinute, (w) => w.workerRssMiB),
        apiGrowth: round(avg(lastMinute, (w) => w.apiRssMiB) - avg(firstMinute, (w) => w.apiRssMiB)),
        workerGrowth: round(avg(lastMinute, (w) => w.workerRssMiB) - avg(firstMinute, (w) => w.workerRssMiB)),
        apiHeapFirstMinute: avg(firstMinute, (w) => w.apiHeapMiB),
        apiHeapLastMinute: avg(lastMinute, (w) => w.apiHeapMiB),
        workerHeapFirstMinute: avg(firstMinute, (w) => w.workerHeapMiB),
        workerHeapLastMinute: avg(lastMinute, (w) => w.workerHeapMiB),
      },
      dispatchBacklogAtEnd: backlog,
      cancelRounds,
      windows,
    };
    const dir = join(REPO, 'benchmarks/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-${result.startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result));
    log(
      `${result.submitted} submissions in ${result.seconds} s = ${result.achievedPerSecond}/s (target ${settings.rate}/s: ${result.heldTargetRate ? 'held' : 'NOT held'}), ` +
        `errors ${result.errors} (${result.errorRate}), worst window p99 ${result.latencyMs.worstWindowP99} ms, ` +
        `RSS growth api ${result.memoryMiB.apiGrowth} MiB worker ${result.memoryMiB.workerGrowth} MiB, ` +
        `dispatched ${dispatchedTotal}, backlog at end ${backlog} (dispatch ${result.dispatchKeptUp ? 'kept up' : 'fell behind'}); written to ${file}`,
    );
  } finally {
    stopCancelling = true;
    await canceller;
    await cp.stop().catch(() => undefined);
    execFileSync('bash', [join(REPO, 'slurm/local/island-down.sh'), ISLAND], { stdio: 'ignore' });
    rmSync(STATE_DIR, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
