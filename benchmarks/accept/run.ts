/**
 * API accept benchmark: how many `POST /v1/jobs` the API commits per second, and how that scales
 * with API processes sharing one port (ARCHIPELAGO_API_PROCESSES).
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/accept/run.js [--processes 1,2,4] [--jobs N]
 *     [--concurrency C] [--warmup W] [--cpu-prof-dir DIR]
 *
 * For each process count: a fresh database `bench_accept`, the real API (its worker killed at
 * once: held jobs, nothing reaches SLURM), W warm-up requests, then N requests of a held one-line
 * job from C keep-alive connections in a closed loop (benchmarks/submit/http-load.ts, a load
 * generator cheap enough not to starve the API of the cores it shares). Every 202 is a job
 * committed to PostgreSQL: the run checks the table holds exactly that many afterwards.
 * Targets (issue #19): ≥ 2,500 jobs/s with p99 < 20 ms on 2 CPUs; the baseline of the scaling
 * curve is one process. Prints JSON (also benchmarks/results/accept-<timestamp>.json).
 * With --cpu-prof-dir every API process is CPU-profiled (benchmarks/submit/cpu-profile-hook.ts):
 * `api-<pid>-0` is boot and warm-up, `api-<pid>-1` the measured requests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { ControlPlane, REPO } from '../../test/support/control-plane';
import { adminStatement } from '../../test/support/postgres';
import { childrenOf } from '../../test/support/processes';
import { closedLoopLoad, requestBytes } from '../submit/http-load';
import { cpuBetween, cpuSnapshot, type CpuUsage } from '../submit/proc-stats';
import { CpuProfiles } from '../submit/cpu-profiles';
import { eachFlag } from '../flags';
import { latencySummary, round, type LatencySummary } from '../support/latency';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  processes: number[];
  jobs: number;
  concurrency: number;
  warmup: number;
  cpuProfDir: string | null;
}

const TARGETS = { perSecond: 2500, p99Ms: 20 };
const BENCH_DB = 'bench_accept';
const BODY = Buffer.from(JSON.stringify({ script: '#!/bin/bash\ntrue\n', options: { hold: true } }));
/** Submitters taking turns: one researcher alone would meet its own submit limit (2,000/s) before the API's. */
const RESEARCHERS = 8;

function parseArgs(argv: string[]): Settings {
  const settings: Settings = { processes: [1, 2, 4], jobs: 20000, concurrency: 32, warmup: 2000, cpuProfDir: null };
  eachFlag(argv, { integers: true }, (flag, num, values) => {
    if (flag === '--processes') settings.processes = values.list(1, 64);
    else if (flag === '--jobs') settings.jobs = num(1, 1_000_000);
    else if (flag === '--concurrency') settings.concurrency = num(1, 1024);
    else if (flag === '--warmup') settings.warmup = num(0, 100_000);
    else if (flag === '--cpu-prof-dir') settings.cpuProfDir = resolve(values.text() ?? '.');
    else throw new Error(`unknown argument ${flag}`);
  });
  return settings;
}

interface Round {
  apiProcesses: number;
  requests: number;
  accepted: number;
  committed: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
  cpu: CpuUsage;
  apiCpuMsPerRequest: number;
  /** perSecond / (processes × one process's perSecond): 1.0 is linear. */
  scalingEfficiency?: number;
}

async function apiPids(cp: ControlPlane, processes: number): Promise<number[]> {
  const supervisor = cp.pid('api');
  if (processes === 1) return [supervisor];
  for (let i = 0; i < 200 && childrenOf(supervisor).length < processes; i++) await new Promise((r) => setTimeout(r, 50));
  return [supervisor, ...childrenOf(supervisor)];
}

async function measure(settings: Settings, processes: number, log: (line: string) => void): Promise<Round> {
  await adminStatement(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
  const profiles = new CpuProfiles(settings.cpuProfDir);
  const cp = new ControlPlane('bench-accept', {
    databaseName: BENCH_DB,
    islands: [{ name: 'local-a' }],
    redisDb: Number(process.env.ARCH_BENCH_REDIS_DB ?? 7),
    env: {
      ARCHIPELAGO_API_PROCESSES: String(processes),
      ...profiles.env(),
    },
  });
  await cp.start();
  cp.killWorker();
  try {
    const pids = await apiPids(cp, processes);
    const requests: Buffer[] = [];
    for (let i = 0; i < RESEARCHERS; i++) {
      const { key } = await cp.researcher(`bench-r${i}`, 'alice');
      requests.push(requestBytes(new URL(cp.url).host, 'POST', '/v1/jobs', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, BODY));
    }
    const request = (i: number) => requests[i % RESEARCHERS];
    log(`${processes} process(es): warm-up ${settings.warmup}`);
    await closedLoopLoad(cp.url, settings.warmup, settings.concurrency, request, 202);
    log(`${processes} process(es): ${settings.jobs} requests at concurrency ${settings.concurrency}`);
    profiles.mark(...pids); // part 0: boot and warm-up
    const before = cpuSnapshot({ api: pids, client: process.pid });
    const load = await closedLoopLoad(cp.url, settings.jobs, settings.concurrency, request, 202);
    const after = cpuSnapshot({ api: pids, client: process.pid });
    profiles.mark(...pids); // part 1: the measured requests
    await profiles.written();
    const db = new Client({ connectionString: cp.databaseUrl });
    await db.connect();
    const committed = Number((await db.query('SELECT count(*) AS n FROM jobs')).rows[0].n) - settings.warmup;
    await db.end();
    const accepted = load.statuses[202] ?? 0;
    const apiSeconds = (after.groups.get('api') ?? 0) - (before.groups.get('api') ?? 0);
    return {
      apiProcesses: processes,
      requests: settings.jobs,
      accepted,
      committed,
      errors: settings.jobs - accepted,
      errorSamples: load.samples,
      seconds: round(load.seconds, 3),
      perSecond: round(settings.jobs / load.seconds),
      latencyMs: latencySummary(load.latenciesMs),
      cpu: cpuBetween(before, after),
      apiCpuMsPerRequest: round((apiSeconds * 1000) / settings.jobs, 3),
    };
  } finally {
    await cp.stop();
    await adminStatement(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
  }
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`[accept ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const startedAt = new Date();
  const machine = machineAtStart();
  const rounds: Round[] = [];
  for (const processes of settings.processes) rounds.push(await measure(settings, processes, log));
  const single = rounds.find((r) => r.apiProcesses === 1);
  if (single) for (const r of rounds) r.scalingEfficiency = round(r.perSecond / (r.apiProcesses * single.perSecond), 3);
  const meets = (r: Round) => r.errors === 0 && r.committed === r.accepted && r.perSecond >= TARGETS.perSecond && r.latencyMs.p99 < TARGETS.p99Ms;
  const best = [...rounds].sort((a, b) => b.perSecond - a.perSecond)[0];
  const result = {
    benchmark: 'accept',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings,
    targets: TARGETS,
    baseline: 'one API process (scaling); the targets are absolute',
    rounds,
    verdict: {
      bestProcesses: best.apiProcesses,
      bestPerSecond: best.perSecond,
      bestP99Ms: best.latencyMs.p99,
      pass: rounds.some(meets),
      everyAcceptedCommitted: rounds.every((r) => r.committed === r.accepted),
    },
  };
  const dir = join(REPO, 'benchmarks', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `accept-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
  for (const r of rounds) {
    log(
      `${r.apiProcesses} process(es): ${r.perSecond} jobs/s  p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} ms  errors ${r.errors}  ` +
        `API ${r.apiCpuMsPerRequest} ms CPU/req  efficiency ${r.scalingEfficiency ?? '-'}  cores ${JSON.stringify(r.cpu.coresByGroup)}`,
    );
  }
  log(`target ≥ ${TARGETS.perSecond}/s with p99 < ${TARGETS.p99Ms} ms: ${result.verdict.pass ? 'PASS' : 'FAIL'}; written to ${file}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
