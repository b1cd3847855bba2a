/**
 * Placement benchmark: 10,000 queued jobs over 500 islands / 50,000 nodes.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/placement/run.js [--islands N] [--nodes-per-island K]
 *     [--jobs J] [--seed S] [--runs R] [--no-write]
 *
 * Synthetic snapshot: mixed CPU node types, GPU islands (a100/h100/v100/l40s), features, 8 regions,
 * 6 providers, tight and loose tiers, partial utilization, drained/down nodes, queue depth. Jobs:
 * single-node CPU, multi-node MPI, GPU, constrained (features/region/provider/class), arrays (some
 * throttled), built as JobSpecs and derived through deriveDemand.
 *
 * Reports (JSON on stdout, also benchmarks/results/placement-<timestamp>.json): placeMany time
 * (median of R runs, each on a fresh view), demand derivation time, memory, load average, outcome
 * counts, and a verification that replays every reservation against the snapshot: each node
 * exists on the chosen island, distinct per job, fits (CPUs, memory, GPUs of the model, features),
 * never over-committed; no multi-node job spans islands or sits on a tier looser than it needs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import type { CapacitySnapshot, IslandCapacity, NodeCapacity } from '../../src/core/placement/capacity';
import { satisfies } from '../../src/core/placement/feature-constraint';
import { deriveDemand, type JobDemand } from '../../src/core/placement/job-demand';
import { placeMany, type BatchJob, type BatchResult, type UserConstraints } from '../../src/core/placement';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  islands: number;
  nodesPerIsland: number;
  jobs: number;
  seed: number;
  runs: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { islands: 500, nodesPerIsland: 100, jobs: 10000, seed: 7, runs: 3, write: true };
  eachFlag(argv, { integers: true }, (flag, num) => {
    switch (flag) {
      case '--islands':
        s.islands = num(1, 100000);
        break;
      case '--nodes-per-island':
        s.nodesPerIsland = num(1, 10000);
        break;
      case '--jobs':
        s.jobs = num(1, 1000000);
        break;
      case '--seed':
        s.seed = num(0, 2 ** 31);
        break;
      case '--runs':
        s.runs = num(1, 20);
        break;
      case '--no-write':
        s.write = false;
        break;
      case '-h':
      case '--help':
        console.log('usage: node dist/benchmarks/placement/run.js [--islands N] [--nodes-per-island K] [--jobs J] [--seed S] [--runs R] [--no-write]');
        process.exit(0);
      // no fall through: process.exit does not return
      default:
        throw new Error(`unknown argument ${flag} (try --help)`);
    }
  });
  return s;
}

/** mulberry32: small, seeded, deterministic. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south'];
const PROVIDERS = ['p-alpha', 'p-beta', 'p-gamma', 'p-delta', 'p-eps', 'p-zeta'];
const CLASSES = ['standard', 'high', 'hpc'];
const CPU_TYPES = [
  { cpus: 32, memoryMb: 128_000, arch: 'intel' },
  { cpus: 64, memoryMb: 256_000, arch: 'amd' },
  { cpus: 128, memoryMb: 512_000, arch: 'amd' },
  { cpus: 48, memoryMb: 192_000, arch: 'intel' },
];
const GPU_MODELS = ['a100', 'h100', 'v100', 'l40s'];

function makeSnapshot(s: Settings, rng: Rng): CapacitySnapshot {
  const islands: IslandCapacity[] = [];
  for (let i = 0; i < s.islands; i++) {
    const tight = rng.chance(0.6);
    const name = `isl-${String(i).padStart(4, '0')}`;
    const types = [rng.pick(CPU_TYPES), rng.pick(CPU_TYPES)];
    const gpuIsland = rng.chance(0.2);
    const gpuModel = rng.pick(GPU_MODELS);
    const nodes: NodeCapacity[] = [];
    for (let n = 0; n < s.nodesPerIsland; n++) {
      const t = types[n % 2];
      const features = [t.arch, ...(t.arch === 'intel' && rng.chance(0.5) ? ['avx512'] : []), ...(tight ? ['ib'] : []), ...(n % 3 === 0 ? ['nvme'] : [])];
      const hasGpu = gpuIsland && n % 4 === 0;
      const gpuTotal = hasGpu ? rng.pick([4, 8]) : 0;
      const r = rng.next();
      const state = r < 0.02 ? 'drain' : r < 0.03 ? 'down' : 'idle';
      const util = state === 'idle' ? rng.pick([0, 0.25, 0.5, 0.75, 1, 1, 1]) : 0;
      const cpusFree = Math.round(t.cpus * (1 - util));
      nodes.push({
        name: `${name}-n${String(n).padStart(4, '0')}`,
        cpus: t.cpus,
        cpusFree,
        memoryMb: t.memoryMb,
        memoryFreeMb: Math.round(t.memoryMb * (1 - util)),
        gpus: hasGpu ? [{ model: gpuModel, total: gpuTotal, free: Math.round(gpuTotal * (1 - util)) }] : [],
        features,
        state: state === 'idle' ? (util === 0 ? 'idle' : util === 1 ? 'allocated' : 'mixed') : state,
      });
    }
    islands.push({
      name,
      tier: tight ? 'tight' : 'loose',
      boundMs: tight ? 2 : 30,
      regions: [rng.pick(REGIONS)],
      providers: [rng.pick(PROVIDERS)],
      performanceClass: rng.pick(CLASSES),
      pricePerCoreHour: Math.round((0.02 + rng.next() * 0.1) * 1000) / 1000,
      benchmarkScore: rng.int(600, 1600),
      partitions: [
        { name: 'batch', maxTimeMinutes: 2880, maxNodes: null, isDefault: true },
        { name: 'debug', maxTimeMinutes: 60, maxNodes: 4 },
        ...(rng.chance(0.3) ? [{ name: 'long', maxTimeMinutes: 10080, maxNodes: 16 }] : []),
      ],
      nodes,
      queue: { pendingJobs: rng.int(0, 200), pendingCpuSeconds: rng.int(0, 200) * 3600 * 16 },
    });
  }
  return { takenAtMs: 1_764_000_000_000, islands };
}

interface GeneratedJob {
  id: string;
  kind: 'single' | 'multi' | 'gpu' | 'constrained' | 'array';
  spec: JobSpec;
  constraints?: UserConstraints;
}

function makeJobs(s: Settings, rng: Rng): GeneratedJob[] {
  const jobs: GeneratedJob[] = [];
  const time = () => rng.pick([15, 30, 60, 240, 720, 1440]);
  for (let i = 0; i < s.jobs; i++) {
    const id = `job-${i}`;
    const r = rng.next();
    if (r < 0.55) {
      jobs.push({
        id,
        kind: 'single',
        spec: { ntasks: 1, cpusPerTask: rng.pick([1, 2, 4, 8, 16, 32]), memPerCpuMb: rng.pick([1024, 2048, 4096]), timeLimitMinutes: time() },
      });
    } else if (r < 0.7) {
      jobs.push({
        id,
        kind: 'multi',
        spec: {
          nodes: { min: rng.pick([2, 2, 4, 4, 8, 16]) },
          ntasksPerNode: rng.pick([16, 32]),
          cpusPerTask: 1,
          memPerCpuMb: 2048,
          timeLimitMinutes: time(),
          ...(rng.chance(0.5) ? { constraint: 'ib' } : {}),
        },
      });
    } else if (r < 0.8) {
      const model = rng.chance(0.7) ? `${rng.pick(GPU_MODELS)}:` : '';
      const count = rng.pick([1, 2, 4, 8]);
      const spec: JobSpec = { ntasks: 1, cpusPerTask: rng.pick([4, 8]), memPerNodeMb: 32_000, timeLimitMinutes: time() };
      if (rng.chance(0.5)) spec.gres = `gpu:${model}${count}`;
      else spec.gpusPerNode = `${model}${count}`;
      jobs.push({ id, kind: 'gpu', spec });
    } else if (r < 0.9) {
      const constraints: UserConstraints = {};
      if (rng.chance(0.5)) constraints.regions = [rng.pick(REGIONS), rng.pick(REGIONS)];
      if (rng.chance(0.3)) constraints.providers = [rng.pick(PROVIDERS)];
      if (rng.chance(0.3)) constraints.performanceClasses = ['hpc'];
      jobs.push({
        id,
        kind: 'constrained',
        spec: {
          ntasks: rng.pick([1, 4]),
          cpusPerTask: rng.pick([2, 4, 8]),
          memPerCpuMb: 2048,
          timeLimitMinutes: time(),
          constraint: rng.pick(['avx512', 'intel&nvme', '[intel|amd]', 'amd|avx512', 'nvme']),
          partition: rng.chance(0.2) ? 'debug' : undefined,
        },
        constraints,
      });
    } else {
      const n = rng.pick([10, 50, 200, 1000, 2000]);
      const throttle = rng.chance(0.3) ? rng.pick([5, 20, 100]) : undefined;
      jobs.push({
        id,
        kind: 'array',
        spec: {
          ntasks: 1,
          cpusPerTask: rng.pick([1, 2, 4]),
          memPerCpuMb: 2048,
          timeLimitMinutes: time(),
          array: {
            expression: `0-${n - 1}${throttle ? `%${throttle}` : ''}`,
            taskIds: Array.from({ length: n }, (_, k) => k),
            ...(throttle ? { maxRunning: throttle } : {}),
          },
        },
      });
    }
  }
  return jobs;
}

// ------------------------------------------------------------------ verification

interface Violation {
  job: string;
  problem: string;
}

function verify(
  snapshot: CapacitySnapshot,
  jobs: BatchJob[],
  result: BatchResult,
): { violations: Violation[]; checkedReservations: number; checkedQueued: number } {
  const islands = new Map(snapshot.islands.map((i) => [i.name, i]));
  const free = new Map<string, { island: string; node: NodeCapacity; cpus: number; mem: number; gpus: Map<string, number> }>();
  for (const island of snapshot.islands) {
    for (const node of island.nodes) {
      free.set(node.name, { island: island.name, node, cpus: node.cpusFree, mem: node.memoryFreeMb, gpus: new Map(node.gpus.map((g) => [g.model, g.free])) });
    }
  }
  const violations: Violation[] = [];
  let checkedReservations = 0;
  let checkedQueued = 0;
  const staticFit = (d: JobDemand, island: IslandCapacity, partition: string, job: string) => {
    if (d.nodes > 1 && island.boundMs > 2) violations.push({ job, problem: `multi-node job on ${island.tier} island ${island.name}` });
    const part = island.partitions.find((p) => p.name === partition);
    if (!part) violations.push({ job, problem: `partition ${partition} not on ${island.name}` });
    else if (d.timeGiven && part.maxTimeMinutes !== null && (d.timeLimitMinutes ?? Infinity) > part.maxTimeMinutes)
      violations.push({ job, problem: `time over ${partition} MaxTime` });
    else if (part.maxNodes !== null && d.nodes > part.maxNodes) violations.push({ job, problem: `nodes over ${partition} MaxNodes` });
  };
  const reserve = (d: JobDemand, islandName: string, nodes: string[], job: string) => {
    checkedReservations++;
    if (new Set(nodes).size !== nodes.length || nodes.length !== d.nodes)
      violations.push({ job, problem: `needs ${d.nodes} distinct nodes, got ${nodes.join(',')}` });
    for (const name of nodes) {
      const f = free.get(name);
      if (!f) {
        violations.push({ job, problem: `unknown node ${name}` });
        continue;
      }
      if (f.island !== islandName) violations.push({ job, problem: `node ${name} is on ${f.island}, not ${islandName} (spans islands)` });
      if (f.node.state === 'drain' || f.node.state === 'down') violations.push({ job, problem: `node ${name} is ${f.node.state}` });
      if (d.constraint && !d.constraint.alternatives.some((alt) => satisfies(alt, new Set(f.node.features))))
        violations.push({ job, problem: `node ${name} lacks features ${d.constraint.text}` });
      f.cpus -= d.cpusPerNode;
      f.mem -= d.memPerNodeMb;
      if (f.cpus < 0 || f.mem < 0) violations.push({ job, problem: `node ${name} over-committed (cpus ${f.cpus}, mem ${f.mem})` });
      if (d.gpusPerNode > 0) {
        const model = d.gpuModel ?? [...f.gpus.keys()][0];
        const left = (f.gpus.get(model) ?? 0) - d.gpusPerNode;
        f.gpus.set(model, left);
        if (left < 0) violations.push({ job, problem: `node ${name} lacks ${d.gpusPerNode} ${model} GPUs` });
      }
    }
    // Matching OR: every node the same alternative.
    if (d.constraint && d.constraint.alternatives.length > 1 && nodes.length > 1) {
      const same = d.constraint.alternatives.some((alt) => nodes.every((n) => satisfies(alt, new Set(free.get(n)?.node.features ?? []))));
      if (!same) violations.push({ job, problem: 'matching-OR nodes differ' });
    }
  };
  result.decisions.forEach((dec, i) => {
    const d = jobs[i].demand;
    if (dec.kind === 'job') {
      if (dec.status === 'unplaceable') return;
      const island = islands.get(dec.island!)!;
      staticFit(d, island, dec.partition!, dec.id);
      if (dec.status === 'start-now') reserve(d, dec.island!, dec.nodes, dec.id);
      else checkedQueued++;
    } else {
      const seen = new Set<number>();
      for (const part of dec.parts) {
        staticFit(d, islands.get(part.island)!, part.partition, dec.id);
        if (part.nodes.length !== part.startNow * d.nodes)
          violations.push({ job: dec.id, problem: 'part reserves a node count that does not match its started tasks' });
        for (let t = 0; t < part.startNow; t++) reserve(d, part.island, part.nodes.slice(t * d.nodes, (t + 1) * d.nodes), dec.id);
        for (const t of part.taskIds) seen.add(t);
        if (part.startNow > part.taskIds.length) violations.push({ job: dec.id, problem: 'part starts more tasks than it holds' });
      }
      if (dec.status !== 'unplaceable' && seen.size !== d.array!.taskIds.length)
        violations.push({ job: dec.id, problem: `array parts cover ${seen.size} of ${d.array!.taskIds.length} tasks` });
      if (d.array!.maxRunning !== null) {
        const running = dec.parts.reduce((a, p) => a + p.startNow, 0);
        if (running > d.array!.maxRunning) violations.push({ job: dec.id, problem: `throttle %${d.array!.maxRunning} exceeded: ${running}` });
      }
    }
  });
  return { violations, checkedReservations, checkedQueued };
}

// ------------------------------------------------------------------ main

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const ms = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const rng = new Rng(s.seed);
  const machine = machineAtStart();
  const snapshot = makeSnapshot(s, rng);
  const generated = makeJobs(s, rng);

  const t0 = performance.now();
  const batch: BatchJob[] = generated.map((g) => ({ id: g.id, demand: deriveDemand(g.spec), constraints: g.constraints }));
  const deriveMs = performance.now() - t0;

  // Collect setup garbage before each timed run so that it is not charged to placement.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const gcTimes: number[] = [];
  const results: BatchResult[] = [];
  let peakHeapDelta = 0;
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let r = 0; r < s.runs; r++) {
    gc();
    await new Promise((done) => setImmediate(done)); // deliver the forced GC's entry before the run
    gcMs = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const out = placeMany(batch, snapshot);
    times.push(performance.now() - start);
    const cpu = process.cpuUsage(cpuBefore);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    await new Promise((done) => setImmediate(done));
    gcTimes.push(gcMs);
    peakHeapDelta = Math.max(peakHeapDelta, process.memoryUsage().heapUsed - heapBefore);
    results.push(out);
  }
  gcObserver.disconnect();
  const final = results[0];
  const firstJson = JSON.stringify(final.decisions);
  if (results.some((r) => JSON.stringify(r.decisions) !== firstJson)) throw new Error('placeMany is not deterministic across runs');
  results.length = 1;
  const check = verify(snapshot, batch, final);

  // Spread: how many islands received work, and the largest share one island got.
  const perIsland = new Map<string, number>();
  const queuedPerIsland = new Map<string, number>();
  for (const d of final.decisions) {
    const names = d.kind === 'job' ? (d.island ? [d.island] : []) : d.parts.map((p) => p.island);
    for (const n of names) perIsland.set(n, (perIsland.get(n) ?? 0) + 1);
    if (d.status === 'queued') for (const n of names) queuedPerIsland.set(n, (queuedPerIsland.get(n) ?? 0) + 1);
  }
  const byKind: Record<string, { jobs: number; startNow: number; queued: number; unplaceable: number }> = {};
  final.decisions.forEach((d, i) => {
    const k = (byKind[generated[i].kind] ??= { jobs: 0, startNow: 0, queued: 0, unplaceable: 0 });
    k.jobs++;
    if (d.status === 'start-now') k.startNow++;
    else if (d.status === 'queued') k.queued++;
    else k.unplaceable++;
  });
  const splitArrays = final.decisions.filter((d) => d.kind === 'array' && d.parts.length > 1).length;

  const report = {
    benchmark: 'placement',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings: { ...s, nodes: s.islands * s.nodesPerIsland },
    timing: {
      placeManyMedianMs: ms(median(times)),
      placeManyRunsMs: times.map(ms),
      // CPU time of this process during each run (all threads, incl. GC helpers): contention-independent.
      placeManyCpuMs: cpuTimes.map(ms),
      gcPauseMsPerRun: gcTimes.map(ms),
      deriveDemandMs: ms(deriveMs),
      targetMs: 1000,
      withinTarget: median(times) < 1000,
    },
    memory: { heapDeltaMb: mb(peakHeapDelta), heapUsedMb: mb(process.memoryUsage().heapUsed), rssMb: mb(process.memoryUsage().rss) },
    outcome: {
      ...final.stats,
      splitArrays,
      islandsUsed: perIsland.size,
      maxDecisionsOnOneIsland: Math.max(0, ...perIsland.values()),
      islandsWithQueued: queuedPerIsland.size,
      maxQueuedOnOneIsland: Math.max(0, ...queuedPerIsland.values()),
      byKind,
    },
    verification: {
      ok: check.violations.length === 0,
      reservationsChecked: check.checkedReservations,
      queuedChecked: check.checkedQueued,
      violations: check.violations.length,
      firstViolations: check.violations.slice(0, 10),
    },
  };
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  if (s.write) {
    const dir = resolve(__dirname, '../../../benchmarks/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `placement-${report.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, json + '\n');
    console.error(`wrote ${file}`);
  }
  if (check.violations.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
