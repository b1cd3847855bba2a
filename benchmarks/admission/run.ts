/**
 * Submit-time admission benchmark: the cost `POST /v1/jobs` now pays to refuse a job no island can
 * ever run. Per capacity view (at most every 2 s) a SubmitAdmission is built (the placement index:
 * `buildMs`); per submission, `neverRunnable` (decidePlacement on the shared placer: p50/p99), for
 * a job that fits and one that can never run, on snapshots from the local stack's size
 * (3 islands × 3 nodes) to a large federation (100 × 100). Baseline: the 3 × 3 snapshot.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/admission/run.js [--calls N]
 *
 * Prints JSON (also written to benchmarks/results/admission-<timestamp>.json) and a summary on stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CapacitySnapshot, IslandCapacity, NodeCapacity } from '../../src/core/placement';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import { SubmitAdmission } from '../../src/core/dispatch/submit-admission';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

const SIZES: Array<[islands: number, nodesPerIsland: number]> = [
  [3, 3],
  [20, 50],
  [100, 100],
];
const JOBS: Record<string, JobSpec> = {
  fits: { ntasks: 4, cpusPerTask: 2, memPerCpuMb: 512, timeLimitMinutes: 60 },
  never: { cpusPerTask: 512, timeLimitMinutes: 60 },
};

function snapshot(islandCount: number, nodesPerIsland: number): CapacitySnapshot {
  const islands: IslandCapacity[] = [];
  for (let i = 0; i < islandCount; i++) {
    const nodes: NodeCapacity[] = [];
    for (let n = 0; n < nodesPerIsland; n++) {
      const busy = (i + n) % 3 === 0;
      nodes.push({
        name: `i${i}-n${n}`,
        cpus: 64,
        cpusFree: busy ? 0 : 64,
        memoryMb: 256_000,
        memoryFreeMb: busy ? 0 : 256_000,
        gpus: [],
        features: n % 2 ? ['avx512'] : [],
        state: busy ? 'allocated' : 'idle',
      });
    }
    islands.push({
      name: `isl-${i}`,
      tier: 'tight',
      boundMs: 2,
      regions: ['eu'],
      providers: ['p'],
      performanceClass: 'standard',
      pricePerCoreHour: 0.05,
      benchmarkScore: 1000,
      partitions: [{ name: 'batch', maxTimeMinutes: 2880, maxNodes: null, isDefault: true }],
      nodes,
      queue: { pendingJobs: 10, pendingCpuSeconds: 36_000 },
    });
  }
  return { takenAtMs: 1_764_000_000_000, islands };
}

function main(): void {
  const machine = machineAtStart();
  const callsArg = process.argv.indexOf('--calls');
  const calls = callsArg > 0 ? Number(process.argv[callsArg + 1]) : 2000;
  const now = new Date(1_764_000_000_000);
  const rows = [];
  for (const [islandCount, nodesPerIsland] of SIZES) {
    const snap = snapshot(islandCount, nodesPerIsland);
    const builds: number[] = [];
    for (let b = 0; b < 5; b++) {
      const t0 = performance.now();
      new SubmitAdmission(snap, [], { tightBoundMs: 2, formable: false });
      builds.push(performance.now() - t0);
    }
    const buildMs = builds.sort((a, b) => a - b)[2];
    for (const [kind, spec] of Object.entries(JOBS)) {
      const admission = new SubmitAdmission(snap, [], { tightBoundMs: 2, formable: false });
      const n = calls;
      for (let w = 0; w < 50; w++) admission.neverRunnable(spec, {}, now);
      const samples: number[] = [];
      for (let k = 0; k < n; k++) {
        const t0 = performance.now();
        const verdict = admission.neverRunnable(spec, {}, now);
        samples.push(performance.now() - t0);
        if ((verdict === null) !== (kind === 'fits')) throw new Error(`wrong verdict for ${kind} on ${islandCount}x${nodesPerIsland}`);
      }
      samples.sort((a, b) => a - b);
      const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
      rows.push({
        islands: islandCount,
        nodesPerIsland,
        nodes: islandCount * nodesPerIsland,
        job: kind,
        calls: n,
        buildMs,
        p50Ms: pct(0.5),
        p99Ms: pct(0.99),
        perSecond: Math.round(1000 / pct(0.5)),
      });
    }
  }
  const result = {
    benchmark: 'admission',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    baseline: 'the same call on the 3 × 3 snapshot of the local stack',
    rows,
  };
  const dir = resolve(__dirname, '../../../benchmarks/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `admission-${result.at.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const r of rows)
    process.stderr.write(
      `${r.islands}x${r.nodesPerIsland} ${r.job}: build ${r.buildMs.toFixed(2)} ms; check p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms\n`,
    );
}

main();
