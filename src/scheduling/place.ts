/**
 * Capacity-aware placement of jobs on islands: hard filters, then a score, with an explanation.
 * See README.md in this directory for the filters, the score and its weights.
 *
 * Cost model. Everything that depends only on (demand, user constraints) and the static island
 * description is computed once per distinct demand "shape" and cached: the candidate islands,
 * the partition, the node classes each alternative of the constraint may use, how many nodes could
 * ever hold the job, and the rejection reason of every other island. What depends on free
 * capacity (fits now, expected start, score) is cached per (shape, island) and keyed on the
 * island's version, so placing a job re-evaluates only islands that changed since the shape was
 * last looked at, not every node of every island.
 */
import type { CapacitySnapshot } from './capacity';
import type { JobDemand } from './job-demand';
import { firstFittingPartition } from './partition-choice';
import type { EligibleClass } from './eligible-classes';
import { hardFiltersFor, passesTimeIndependentFilters, rejectionReason, type HardFilters } from './hard-filters';
import { countNodesFittingNow, nodeFitsNow, perNodeDemandOf, tasksFittingOnNode, type PerNodeDemand } from './node-fit';
import { IslandState, PlacementIndex } from './placement-index';
import { packSingleNodeTasks, queueJobs, reserveNodes } from './reservations';
import { resolveOptions, type PlacementOptions, type ResolvedOptions, type UserConstraints } from './placement-options';
import type { ArrayPart, ArrayPlacement, BatchDecision, BatchJob, BatchResult, CandidateExplanation, JobPlacement, ScoreBreakdown } from './placement-result';

interface Base {
  /** Candidate order by static score (computed on first use). */
  order?: number[];
  cand: IslandState[];
  alts: EligibleClass[][][];
  ever: number[];
  rejected: IslandState[];
}

interface Shape {
  demand: JobDemand;
  k: number;
  p: PerNodeDemand;
  cand: IslandState[];
  partition: string[];
  /** Per candidate, per constraint alternative, the classes that could ever hold the job. */
  alts: EligibleClass[][][];
  ever: number[];
  /** Rejected islands; their reasons are built lazily (explanations, unplaceable summaries). */
  rejected: IslandState[];
  reasons: string[] | null;
  filters: HardFilters;
  // Plain packed arrays, not typed arrays: thousands of small shapes, and typed-array backing
  // stores are costly to allocate and collect at that count.
  ver: number[];
  score: number[];
  fits: number[];
  nowCount: number[];
  /** The alternative that fits now (or -1). */
  alt: number[];
  /** The candidate `best` chose last time (where the next search starts). */
  lastBest: number;
  /** Candidates by their static score part (price, performance) descending, then name. */
  order: number[];
}

/**
 * A placer over one mutable capacity view: each placement reserves what it uses (nodes for a job
 * that starts now, queue depth for one that waits), so the next placement sees it.
 */
export class Placer {
  readonly index: PlacementIndex;
  private readonly o: ResolvedOptions;
  private readonly shapes = new Map<string, Shape>();
  private readonly constraintKeys = new WeakMap<UserConstraints, string>();
  private readonly eligibleSlots = new Map<string, number>();
  private readonly bases = new Map<string, Base>();
  private readonly ubVersion: Int32Array;
  private readonly ubBase: Float64Array;
  /** Per island, the weighted price and performance parts of the score (static); and the most the rest can add. */
  private readonly staticPart: number[];
  private readonly maxDynamic: number;

  constructor(
    view: CapacitySnapshot | PlacementIndex,
    private readonly options: PlacementOptions = {},
  ) {
    this.index = view instanceof PlacementIndex ? view : new PlacementIndex(view);
    this.o = resolveOptions(options);
    this.ubVersion = new Int32Array(this.index.islands.length).fill(-1);
    this.ubBase = new Float64Array(this.index.islands.length);
    const w = this.o.weights;
    this.staticPart = this.index.islands.map((island) => {
      const price = island.capacity.pricePerCoreHour;
      return w.price * (price <= 0 ? 1 : this.index.minPrice / price) +
        w.performance * (this.index.maxBenchmark > 0 ? island.capacity.benchmarkScore / this.index.maxBenchmark : 0);
    });
    this.maxDynamic = this.o.startNowBonus + Math.max(0, w.start) + Math.max(0, w.headroom);
  }

  place(demand: JobDemand, constraints: UserConstraints = {}, explain = this.options.explain ?? true): JobPlacement {
    const shape = this.shape(demand, constraints);
    const best = this.best(shape);
    const candidates = explain ? this.explain(shape) : [];
    if (best < 0) {
      return { status: 'unplaceable', island: null, partition: null, score: null, expectedStartMinutes: null, nodes: [], candidates, reason: summarize(shape) };
    }
    const island = shape.cand[best];
    const score = shape.score[best];
    const expectedStartMinutes = this.parts(shape, best).expectedStartMinutes;
    if (shape.fits[best]) {
      const nodes = this.allocate(shape, best);
      return { status: 'start-now', island: island.name, partition: shape.partition[best], score, expectedStartMinutes, nodes, candidates };
    }
    this.enqueue(island, demand, 1);
    return { status: 'queued', island: island.name, partition: shape.partition[best], score, expectedStartMinutes, nodes: [], candidates };
  }

  placeArray(demand: JobDemand, constraints: UserConstraints = {}, explain = this.options.explain ?? true): ArrayPlacement {
    const tasks = demand.array?.taskIds ?? [0];
    const throttle = demand.array?.maxRunning ?? null;
    const shape = this.shape(demand, constraints);
    const first = this.best(shape);
    const candidates = explain ? this.explain(shape) : [];
    if (first < 0) return { status: 'unplaceable', parts: [], candidates, reason: summarize(shape) };

    // Concurrency wanted now: every task, or the %N throttle.
    let remaining = Math.min(tasks.length, throttle ?? tasks.length);
    const taken: Array<{ j: number; started: number; score: number; nodes: string[] }> = [];
    const used = new Set<number>();
    while (remaining > 0) {
      const pick = this.pickForTasks(shape, used, remaining);
      if (pick < 0) break;
      const score = shape.score[pick];
      const nodes: string[] = [];
      let started = 0;
      if (shape.k === 1 && !shape.p.exclusive && !shape.p.wholeNodeMemory) {
        started = this.allocateSingleNodeTasks(shape, pick, remaining, nodes);
      } else {
        for (; started < remaining; started++) {
          this.refresh(shape, pick);
          if (!shape.fits[pick]) break;
          for (const node of this.allocate(shape, pick)) nodes.push(node);
        }
      }
      if (started === 0) break;
      used.add(pick);
      taken.push({ j: pick, started, score, nodes });
      remaining -= started;
    }

    if (taken.length === 0) {
      // Nothing fits now anywhere: the whole array queues where it is expected to start first.
      const best = this.best(shape);
      this.enqueue(shape.cand[best], demand, tasks.length);
      const part = makePart(shape.cand[best].name, shape.partition[best], tasks, throttle, 0, shape.score[best], []);
      return { status: 'queued', parts: [part], candidates };
    }
    // Split the task list in proportion to what each island runs now (largest remainder), in order.
    const startedTotal = taken.reduce((a, t) => a + t.started, 0);
    const counts = taken.map((t) => Math.floor((tasks.length * t.started) / startedTotal));
    let left = tasks.length - counts.reduce((a, b) => a + b, 0);
    const byRemainder = taken
      .map((t, i) => ({ i, r: (tasks.length * t.started) % startedTotal }))
      .sort((a, b) => b.r - a.r || a.i - b.i);
    for (let x = 0; left > 0; x = (x + 1) % byRemainder.length, left--) counts[byRemainder[x].i]++;
    const parts: ArrayPart[] = [];
    let offset = 0;
    taken.forEach((t, i) => {
      const ids = tasks.slice(offset, offset + counts[i]);
      offset += counts[i];
      const island = shape.cand[t.j];
      if (ids.length > t.started) this.enqueue(island, demand, ids.length - t.started);
      parts.push(makePart(island.name, shape.partition[t.j], ids, throttle === null ? null : t.started, t.started, t.score, t.nodes));
    });
    return { status: 'start-now', parts, candidates };
  }

  /** Distinct (demand, constraints) shapes seen so far. */
  shapeCount(): number {
    return this.shapes.size;
  }

  // ---------------------------------------------------------------- shapes and static filters

  private shape(demand: JobDemand, constraints: UserConstraints): Shape {
    let ck = this.constraintKeys.get(constraints);
    if (ck === undefined) {
      ck = constraintKey(constraints);
      this.constraintKeys.set(constraints, ck);
    }
    const key = `${demand.key}#${ck}`;
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = this.buildShape(demand, constraints, ck);
      this.shapes.set(key, shape);
    }
    return shape;
  }

  /**
   * The static filters except the partition (which depends on the time limit), shared by shapes
   * that differ only in time: most of the static work, once per (per-node demand, constraints).
   */
  private base(demand: JobDemand, p: PerNodeDemand, filters: HardFilters, ck: string): Base {
    const d = demand;
    const key = `${d.nodes}|${d.cpusPerNode}|${d.wholeNodeMemory ? 'all' : d.memPerNodeMb}|${d.exclusive ? 'x' : ''}|${d.gpusPerNode}|` +
      `${d.gpuModel ?? ''}|${d.constraint?.text ?? ''}|${d.requiresTightTier ? 't' : ''}#${ck}`;
    let base = this.bases.get(key);
    if (!base) {
      base = { cand: [], alts: [], ever: [], rejected: [] };
      for (const island of this.index.islands) {
        const eligibility = passesTimeIndependentFilters(island, filters, demand, p);
        if (eligibility === null) {
          base.rejected.push(island);
        } else {
          base.cand.push(island);
          base.alts.push(eligibility.byAlternative);
          base.ever.push(eligibility.nodesEver);
        }
      }
      this.bases.set(key, base);
    }
    return base;
  }

  private orderOf(cand: IslandState[]): number[] {
    return cand.map((_, j) => j).sort((a, b) => this.staticPart[cand[b].index] - this.staticPart[cand[a].index] || a - b);
  }

  /** Shapes that differ only in time, partition or user constraints share eligible-class results. */
  private eligibleSlot(d: JobDemand, p: PerNodeDemand): number {
    const key = `${p.cpus}|${p.wholeNodeMemory ? 'all' : p.memoryMb}|${p.gpus}|${d.gpuModel ?? ''}|${d.constraint?.text ?? ''}|${d.nodes}`;
    let slot = this.eligibleSlots.get(key);
    if (slot === undefined) {
      slot = this.eligibleSlots.size;
      this.eligibleSlots.set(key, slot);
    }
    return slot;
  }

  private buildShape(demand: JobDemand, constraints: UserConstraints, ck: string): Shape {
    const p = perNodeDemandOf(demand);
    const shape: Shape = {
      demand, k: demand.nodes, p, cand: [], partition: [], alts: [], ever: [], rejected: [], reasons: null,
      filters: hardFiltersFor(demand, constraints, this.o.tightBoundMs, this.eligibleSlot(demand, p)),
      ver: [], score: [], fits: [], nowCount: [], alt: [], lastBest: 0, order: [],
    };
    const base = this.base(demand, p, shape.filters, ck);
    const late: IslandState[] = [];
    const partitions: string[] = new Array(base.cand.length);
    let kept = 0;
    for (let b = 0; b < base.cand.length; b++) {
      const partition = firstFittingPartition(base.cand[b], demand);
      if (partition !== null) partitions[kept++] = partition;
      else late.push(base.cand[b]);
    }
    if (late.length === 0) {
      // The common case: every base candidate has a fitting partition; share the base's arrays.
      shape.cand = base.cand;
      shape.alts = base.alts;
      shape.ever = base.ever;
      shape.partition = partitions;
      shape.rejected = base.rejected;
      base.order ??= this.orderOf(base.cand);
      shape.order = base.order;
    } else {
      base.cand.forEach((island, b) => {
        if (late.includes(island)) return;
        shape.cand.push(island);
        shape.alts.push(base.alts[b]);
        shape.ever.push(base.ever[b]);
      });
      shape.partition = partitions.slice(0, kept);
      shape.rejected = [...base.rejected, ...late].sort((a, b) => a.index - b.index);
      shape.order = this.orderOf(shape.cand);
    }
    const n = shape.cand.length;
    shape.ver = new Array<number>(n).fill(-1);
    shape.score = new Array<number>(n).fill(0.5); // doubles from the start: the array stays a double array
    shape.fits = new Array<number>(n).fill(0);
    shape.nowCount = new Array<number>(n).fill(0);
    shape.alt = new Array<number>(n).fill(-1);
    return shape;
  }

  // ---------------------------------------------------------------- dynamic evaluation

  /**
   * Index of the best candidate (highest score, then island name), or -1. A stale candidate is
   * re-evaluated only when an O(1) upper bound of its score (island-level numbers, no node scan)
   * could beat the best so far; candidates run in name order, so a bound equal to the best loses
   * the tie anyway.
   */
  private best(shape: Shape): number {
    const { cand, ver, score } = shape;
    if (cand.length === 0) return -1;
    // Start from the shape's previous winner: usually still good, it makes the bound prune most islands.
    let best = shape.lastBest;
    this.refresh(shape, best);
    let bestScore = score[best];
    const need = shape.p.cpus * shape.k;
    const { order } = shape;
    const staticPart = this.staticPart;
    const maxDynamic = this.maxDynamic;
    for (let x = 0; x < order.length; x++) {
      const j = order[x];
      const island = cand[j];
      // Every later candidate has a static part no larger than this one: none can win any more.
      if (staticPart[island.index] + maxDynamic < bestScore - 1e-9) break;
      if (ver[j] !== island.version) {
        if (this.upperBound(island, need) < bestScore - 1e-9) continue;
        this.refresh(shape, j);
      }
      const s = score[j];
      if (s > bestScore || (s === bestScore && j < best)) {
        bestScore = s;
        best = j;
      }
    }
    shape.lastBest = best;
    return best;
  }

  /**
   * An upper bound of any shape's score on the island: the start-now bonus only if the island has
   * enough free CPUs in total, the start score of a job that fits now (the best case), and the
   * headroom before the job's CPUs. Island-level parts are cached per island version.
   */
  private upperBound(island: IslandState, need: number): number {
    const i = island.index;
    if (this.ubVersion[i] !== island.version) {
      const o = this.o;
      const drain = island.pendingCpuSeconds / 60 / Math.max(1, island.usableCpus);
      const priceValue = island.capacity.pricePerCoreHour;
      this.ubBase[i] =
        o.weights.start * startScore(o, drain * o.backfillFactor) +
        o.weights.price * (priceValue <= 0 ? 1 : this.index.minPrice / priceValue) +
        o.weights.performance * (this.index.maxBenchmark > 0 ? island.capacity.benchmarkScore / this.index.maxBenchmark : 0) +
        o.weights.headroom * (island.usableCpus > 0 ? island.freeCpus / island.usableCpus : 0);
      this.ubVersion[i] = island.version;
    }
    return this.ubBase[i] + (island.freeCpus >= need ? this.o.startNowBonus : 0);
  }

  private refresh(shape: Shape, j: number): void {
    const island = shape.cand[j];
    if (shape.ver[j] === island.version) return;
    const k = shape.k;
    let bestCount = 0;
    let fitAlt = -1;
    const alts = shape.alts[j];
    for (let a = 0; a < alts.length && fitAlt < 0; a++) {
      let count = 0;
      for (const e of alts[a]) {
        count += countNodesFittingNow(e.nodeClass, e.gpuModel, shape.p, k - count);
        if (count >= k) break;
      }
      if (count >= k) fitAlt = a;
      if (count > bestCount) bestCount = count;
    }
    shape.fits[j] = fitAlt >= 0 ? 1 : 0;
    shape.alt[j] = fitAlt;
    shape.nowCount[j] = Math.min(bestCount, k);
    shape.score[j] = this.scoreOf(shape, j);
    shape.ver[j] = island.version;
  }

  /** The weighted score alone (the hot path; `parts` is the same computation, itemized). */
  private scoreOf(shape: Shape, j: number): number {
    const island = shape.cand[j];
    const o = this.o;
    const fitsNow = shape.fits[j] === 1;
    const drain = island.pendingCpuSeconds / 60 / Math.max(1, island.usableCpus);
    const startMin = fitsNow ? drain * o.backfillFactor : drain + o.resourceWaitMinutes * (1 - shape.nowCount[j] / shape.k);
    const priceValue = island.capacity.pricePerCoreHour;
    const need = fitsNow ? shape.p.cpus * shape.k : 0;
    const w = o.weights;
    return (
      (fitsNow ? o.startNowBonus : 0) +
      w.start * startScore(o, startMin) +
      w.price * (priceValue <= 0 ? 1 : this.index.minPrice / priceValue) +
      w.performance * (this.index.maxBenchmark > 0 ? island.capacity.benchmarkScore / this.index.maxBenchmark : 0) +
      w.headroom * (island.usableCpus > 0 ? Math.max(0, island.freeCpus - need) / island.usableCpus : 0)
    );
  }

  private parts(shape: Shape, j: number): ScoreBreakdown & { total: number } {
    const island = shape.cand[j];
    const fitsNow = shape.fits[j] === 1;
    const drain = island.pendingCpuSeconds / 60 / Math.max(1, island.usableCpus);
    const expectedStartMinutes = fitsNow
      ? drain * this.o.backfillFactor
      : drain + this.o.resourceWaitMinutes * (1 - shape.nowCount[j] / shape.k);
    const start = startScore(this.o, expectedStartMinutes);
    const priceValue = island.capacity.pricePerCoreHour;
    const price = priceValue <= 0 ? 1 : this.index.minPrice / priceValue;
    const performance = this.index.maxBenchmark > 0 ? island.capacity.benchmarkScore / this.index.maxBenchmark : 0;
    const need = fitsNow ? shape.p.cpus * shape.k : 0;
    const headroom = island.usableCpus > 0 ? Math.max(0, island.freeCpus - need) / island.usableCpus : 0;
    const w = this.o.weights;
    const total = (fitsNow ? this.o.startNowBonus : 0) + w.start * start + w.price * price + w.performance * performance + w.headroom * headroom;
    return {
      fitsNow, nodesFitNow: shape.nowCount[j], nodesEver: shape.ever[j], expectedStartMinutes,
      start, price, performance, headroom, total,
    };
  }

  /** How many more tasks of the shape fit now on candidate j (up to `limit`), with its fitting alternative. */
  private slots(shape: Shape, j: number, limit: number): number {
    const a = shape.alt[j];
    if (a < 0) return 0;
    const { p, k } = shape;
    let slots = 0;
    let nodesFree = 0;
    for (const e of shape.alts[j][a]) {
      const cls = e.nodeClass;
      for (let i = cls.cursor; i < cls.size; i++) {
        if (!nodeFitsNow(cls, i, e.gpuModel, p)) continue;
        if (k > 1 || p.exclusive || p.wholeNodeMemory) {
          nodesFree++;
        } else {
          slots += tasksFittingOnNode(cls, i, e.gpuModel, p);
        }
        if (slots + Math.floor(nodesFree / k) >= limit) return limit;
      }
    }
    return slots + Math.floor(nodesFree / k);
  }

  /**
   * For `remaining` array tasks: the best-scored island that runs them all now; else the one that
   * runs the most now (ties: score, then name). Upper bounds (free CPUs / CPUs per task) skip
   * islands without a node scan.
   */
  private pickForTasks(shape: Shape, used: Set<number>, remaining: number): number {
    // Fast path: the best island overall, when it is unused and runs them all now.
    if (used.size === 0) {
      const top = this.best(shape);
      if (top >= 0 && shape.fits[top] && this.slots(shape, top, remaining) >= remaining) return top;
    }
    const fitting: number[] = [];
    const { p, k, score } = shape;
    const perTask = k > 1 || p.exclusive || p.wholeNodeMemory;
    for (let j = 0; j < shape.cand.length; j++) {
      if (used.has(j)) continue;
      this.refresh(shape, j);
      if (shape.fits[j]) fitting.push(j);
    }
    if (fitting.length === 0) return -1;
    // Upper bound of the tasks an island can run now, without a node scan.
    const bound: number[] = new Array(shape.cand.length).fill(0);
    for (const j of fitting) {
      const island = shape.cand[j];
      bound[j] = perTask ? Math.floor(island.usableNodes / k) : Math.floor(island.freeCpus / p.cpus);
    }
    fitting.sort((a, b) => score[b] - score[a] || a - b);
    for (const j of fitting) {
      if (bound[j] >= remaining && this.slots(shape, j, remaining) >= remaining) return j;
    }
    // Nobody runs them all: the most tasks, then score, then name. In bound order, stop once the
    // bound cannot reach the best count found.
    const byBound = fitting.slice().sort((a, b) => bound[b] - bound[a] || score[b] - score[a] || a - b);
    let pick = -1;
    let pickSlots = 0;
    for (const j of byBound) {
      if (bound[j] < pickSlots) break;
      const slots = this.slots(shape, j, remaining);
      if (slots > pickSlots || (slots === pickSlots && pick >= 0 && (score[j] > score[pick] || (score[j] === score[pick] && j < pick)))) {
        pick = j;
        pickSlots = slots;
      }
    }
    return pickSlots > 0 ? pick : -1;
  }

  // ---------------------------------------------------------------- reservations

  private allocate(shape: Shape, j: number): string[] {
    return reserveNodes(shape.cand[j], shape.alts[j][shape.alt[j]], shape.p, shape.k);
  }

  /** Packs up to `n` single-node tasks on candidate j in one pass over its nodes (first fit); returns how many. */
  private allocateSingleNodeTasks(shape: Shape, j: number, n: number, out: string[]): number {
    const alt = shape.alt[j];
    if (alt < 0) return 0;
    return packSingleNodeTasks(shape.cand[j], shape.alts[j][alt], shape.p, n, out);
  }

  private enqueue(island: IslandState, demand: JobDemand, jobs: number): void {
    queueJobs(island, demand, jobs);
  }

  // ---------------------------------------------------------------- explanation

  private explain(shape: Shape): CandidateExplanation[] {
    const scored: CandidateExplanation[] = shape.cand.map((island, j) => {
      this.refresh(shape, j);
      const { total, ...breakdown } = this.parts(shape, j);
      return { island: island.name, score: round(total), partition: shape.partition[j], breakdown: roundBreakdown(breakdown) };
    });
    const order = scored.map((_, j) => j).sort((a, b) => shape.score[b] - shape.score[a] || a - b);
    return [
      ...order.map((j) => scored[j]),
      ...shape.rejected.map((island, r) => ({ island: island.name, score: null, rejected: reasonsOf(shape)[r] })),
    ];
  }
}

// ------------------------------------------------------------------------ free functions (API)

/** One job, against a snapshot (left untouched) or a Placer's live view (reserved there). */
export function placeJob(
  demand: JobDemand,
  constraints: UserConstraints,
  view: CapacitySnapshot | Placer,
  options: PlacementOptions = {},
): JobPlacement {
  const placer = view instanceof Placer ? view : new Placer(view, options);
  return placer.place(demand, constraints, options.explain ?? true);
}

/** An array job, split across islands when one cannot run it (or its %N throttle) now. */
export function placeArray(
  demand: JobDemand,
  constraints: UserConstraints,
  view: CapacitySnapshot | Placer,
  options: PlacementOptions = {},
): ArrayPlacement {
  const placer = view instanceof Placer ? view : new Placer(view, options);
  return placer.placeArray(demand, constraints, options.explain ?? true);
}

/**
 * Places jobs in order (queue order = priority order) on one in-memory view of the snapshot
 * (the snapshot itself is not modified), reserving capacity as it goes.
 */
export function placeMany(jobs: BatchJob[], snapshot: CapacitySnapshot, options: PlacementOptions = {}): BatchResult {
  const placer = new Placer(snapshot, options);
  const explain = options.explain ?? false;
  const none: UserConstraints = {};
  const stats = { jobs: jobs.length, startNow: 0, queued: 0, unplaceable: 0, arrayParts: 0, shapes: 0 };
  const decisions: BatchDecision[] = jobs.map((job) => {
    const constraints = job.constraints ?? none;
    const d: BatchDecision = job.demand.array
      ? { id: job.id, kind: 'array', ...placer.placeArray(job.demand, constraints, explain) }
      : { id: job.id, kind: 'job', ...placer.place(job.demand, constraints, explain) };
    if (d.status === 'start-now') stats.startNow++;
    else if (d.status === 'queued') stats.queued++;
    else stats.unplaceable++;
    if (d.kind === 'array') stats.arrayParts += d.parts.length;
    return d;
  });
  stats.shapes = placer.shapeCount();
  return { decisions, stats };
}

/** A readable multi-line rendering of a placement's explanation. */
export function formatExplanation(p: JobPlacement | ArrayPlacement): string {
  const lines: string[] = [];
  if ('parts' in p) {
    if (p.status === 'unplaceable') lines.push(`unplaceable: ${p.reason}`);
    for (const part of p.parts) {
      lines.push(`tasks ${part.expression} -> ${part.island}/${part.partition} (score ${round(part.score)}, ${part.startNow} start now)`);
    }
  } else if (p.status === 'unplaceable') {
    lines.push(`unplaceable: ${p.reason}`);
  } else {
    lines.push(`${p.status} on ${p.island}/${p.partition}, score ${round(p.score ?? 0)}, expected start ~${round(p.expectedStartMinutes ?? 0)} min` +
      (p.nodes.length ? ` on ${p.nodes.join(',')}` : ''));
  }
  for (const c of p.candidates) {
    if (c.rejected !== undefined) {
      lines.push(`  ${c.island}: rejected: ${c.rejected}`);
    } else if (c.breakdown) {
      const b = c.breakdown;
      lines.push(`  ${c.island}: score ${c.score} (${b.fitsNow ? 'fits now' : `${b.nodesFitNow} node(s) free now`}, ` +
        `start ~${b.expectedStartMinutes} min -> ${b.start}, price ${b.price}, performance ${b.performance}, headroom ${b.headroom}) partition ${c.partition}`);
    }
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------------ hot-loop helpers

function startScore(o: ResolvedOptions, minutes: number): number {
  const s = 1 - Math.log2(1 + minutes / o.startUnitMinutes) / o.startLogHorizon;
  return s < 0 ? 0 : s > 1 ? 1 : s;
}

// ------------------------------------------------------------------------ static filters

function constraintKey(c: UserConstraints): string {
  const s = (v: string[] | undefined) => (v ? [...v].sort().join(',') : '');
  return [s(c.regions), s(c.providers), s(c.performanceClasses), s(c.islands), s(c.excludeIslands), c.maxPricePerCoreHour ?? '', c.maxIslandLatencyMs ?? ''].join('|');
}

function reasonsOf(shape: Shape): string[] {
  if (shape.reasons === null) {
    shape.reasons = shape.rejected.map((island) => {
      return rejectionReason(island, shape.filters, shape.demand, shape.p) ?? 'internal: accepted on a second look';
    });
  }
  return shape.reasons;
}

function summarize(shape: Shape): string {
  if (shape.rejected.length === 0) return 'no islands in the capacity snapshot';
  const counts = new Map<string, number>();
  for (const reason of reasonsOf(shape)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = top.slice(0, 3).map(([reason, n]) => (n === shape.rejected.length ? `every island: ${reason}` : `${n} island(s): ${reason}`));
  if (top.length > 3) shown.push(`${top.length - 3} other reason(s)`);
  return shown.join('; ');
}

function makePart(island: string, partition: string, ids: number[], maxRunning: number | null, startNow: number, score: number, nodes: string[]): ArrayPart {
  return { island, partition, taskIds: ids, expression: renderTaskIds(ids) + (maxRunning !== null ? `%${maxRunning}` : ''), maxRunning, startNow, score, nodes };
}

/** `[0,1,2,3,7,9,10]` → `0-3,7,9-10`. */
export function renderTaskIds(ids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    out.push(j === i ? String(ids[i]) : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

const round = (x: number) => Math.round(x * 1000) / 1000;
function roundBreakdown(b: ScoreBreakdown): ScoreBreakdown {
  return {
    ...b,
    expectedStartMinutes: round(b.expectedStartMinutes),
    start: round(b.start), price: round(b.price), performance: round(b.performance), headroom: round(b.headroom),
  };
}
