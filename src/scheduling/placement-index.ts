/**
 * A mutable, indexed copy of a CapacitySnapshot for fast placement. The input snapshot is never
 * modified. Per island, nodes are grouped into classes of identical hardware (cpus, memory, GPU
 * pools, features); static filters run once per class, not per node. Free capacity lives in typed
 * arrays per class, with upper bounds of the free maxima that let a "does not fit now" answer
 * come without a scan. Every change to an island bumps its `version`, which is what per-demand
 * caches in place.ts key on: placing one job only invalidates the island it landed on.
 */
import { nodeIsUsable, type CapacitySnapshot, type IslandCapacity, type PartitionLimits } from './capacity';

export class NodeClass {
  readonly names: string[] = [];
  /** Node count (names.length, kept as a field for the hot loops). */
  size = 0;
  cpusFree!: Int32Array;
  memFree!: Float64Array;
  /** Per GPU model of the class, free GPUs per node. */
  gpuFree!: Int32Array[];
  /** Upper bounds of the free maxima (exact after a scan that found no fit). */
  maxCpusFree = 0;
  maxMemFree = 0;
  maxGpuFree: number[];
  /** Lowest node index that may still have free CPUs (first-fit cursor). */
  cursor = 0;
  readonly gpuTotalAll: number;

  constructor(
    readonly features: ReadonlySet<string>,
    readonly cpus: number,
    readonly memoryMb: number,
    readonly gpuModels: string[],
    readonly gpuTotal: number[],
  ) {
    this.maxGpuFree = gpuTotal.map(() => 0);
    this.gpuTotalAll = gpuTotal.reduce((a, b) => a + b, 0);
  }


  /** GPUs of `model` (null: any) free on node i. */
  gpusFreeOn(i: number, model: number): number {
    if (model >= 0) return this.gpuFree[model][i];
    let sum = 0;
    for (const pool of this.gpuFree) sum += pool[i];
    return sum;
  }
}

export class IslandState {
  version = 0;
  readonly classes: NodeClass[] = [];
  readonly regions: ReadonlySet<string>;
  readonly providers: ReadonlySet<string>;
  readonly featureUnion = new Set<string>();
  /** Largest per-node GPU count per model ('' = untyped), over usable nodes. */
  readonly gpuModels = new Map<string, number>();
  maxCpus = 0;
  maxMemoryMb = 0;
  maxGpus = 0;
  usableNodes = 0;
  unusableNodes = 0;
  usableCpus = 0;
  freeCpus = 0;
  pendingJobs: number;
  pendingCpuSeconds: number;
  readonly partitions: PartitionLimits[];
  /** place.ts's cache of eligible node classes per per-node demand (static: hardware and features only). */
  readonly eligibleCache: unknown[] = [];

  constructor(
    readonly index: number,
    readonly capacity: IslandCapacity,
  ) {
    this.regions = new Set(capacity.regions);
    this.providers = new Set(capacity.providers);
    this.pendingJobs = capacity.queue.pendingJobs;
    this.pendingCpuSeconds = capacity.queue.pendingCpuSeconds;
    this.partitions = [...capacity.partitions].sort((a, b) => Number(b.isDefault ?? false) - Number(a.isDefault ?? false));
  }

  get name(): string {
    return this.capacity.name;
  }
}

export class PlacementIndex {
  readonly islands: IslandState[];
  readonly byName = new Map<string, IslandState>();
  /** Snapshot-wide normalizers for the price and performance scores. */
  readonly minPrice: number;
  readonly maxBenchmark: number;
  readonly takenAtMs: number;

  constructor(snapshot: CapacitySnapshot) {
    this.takenAtMs = snapshot.takenAtMs;
    const sorted = [...snapshot.islands].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const canonical = new Map<string, string>();
    this.islands = sorted.map((cap, i) => buildIsland(i, cap, canonical));
    for (const island of this.islands) {
      if (this.byName.has(island.name)) throw new Error(`duplicate island ${island.name} in the capacity snapshot`);
      this.byName.set(island.name, island);
    }
    const prices = sorted.map((i) => i.pricePerCoreHour).filter((p) => p > 0);
    this.minPrice = prices.length ? Math.min(...prices) : 0;
    this.maxBenchmark = Math.max(0, ...sorted.map((i) => i.benchmarkScore));
  }
}

function buildIsland(index: number, cap: IslandCapacity, canonical: Map<string, string>): IslandState {
  const island = new IslandState(index, cap);
  const classes = new Map<string, { cls: NodeClass; nodes: typeof cap.nodes }>();
  for (const node of cap.nodes) {
    if (!nodeIsUsable(node.state)) {
      island.unusableNodes++;
      continue;
    }
    island.usableNodes++;
    island.usableCpus += node.cpus;
    island.freeCpus += Math.max(0, node.cpusFree);
    island.maxCpus = Math.max(island.maxCpus, node.cpus);
    island.maxMemoryMb = Math.max(island.maxMemoryMb, node.memoryMb);
    let gpus = 0;
    for (const g of node.gpus) {
      gpus += g.total;
      island.gpuModels.set(g.model, Math.max(island.gpuModels.get(g.model) ?? 0, g.total));
    }
    island.maxGpus = Math.max(island.maxGpus, gpus);
    for (const f of node.features) island.featureUnion.add(f);
    // The raw key (as listed) maps to the canonical one (sorted), computed once per raw spelling.
    let raw = `${node.cpus}|${node.memoryMb}|`;
    for (const g of node.gpus) raw += `${g.model}:${g.total},`;
    raw += `|${node.features.join(',')}`;
    let key = canonical.get(raw);
    if (key === undefined) {
      const pools = [...node.gpus].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
      key = `${node.cpus}|${node.memoryMb}|${pools.map((p) => `${p.model}:${p.total}`).join(',')}|${[...new Set(node.features)].sort().join(',')}`;
      canonical.set(raw, key);
    }
    let entry = classes.get(key);
    if (!entry) {
      const pools = [...node.gpus].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
      const features = [...new Set(node.features)].sort();
      entry = {
        cls: new NodeClass(new Set(features), node.cpus, node.memoryMb, pools.map((p) => p.model), pools.map((p) => p.total)),
        nodes: [],
      };
      classes.set(key, entry);
    }
    entry.nodes.push(node);
  }
  // First-fit order inside an island: the least special hardware first (no GPUs, fewest features,
  // smallest), so that plain CPU jobs do not eat the CPUs of GPU nodes while plain nodes are free.
  const ordered = [...classes.entries()].sort(([ka, a], [kb, b]) =>
    a.cls.gpuTotalAll - b.cls.gpuTotalAll ||
    a.cls.features.size - b.cls.features.size ||
    a.cls.cpus - b.cls.cpus ||
    a.cls.memoryMb - b.cls.memoryMb ||
    (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
  for (const [, { cls, nodes }] of ordered) {
    let inOrder = true;
    for (let i = 1; i < nodes.length && inOrder; i++) inOrder = nodes[i - 1].name < nodes[i].name;
    if (!inOrder) nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const n = nodes.length;
    cls.cpusFree = new Int32Array(n);
    cls.memFree = new Float64Array(n);
    cls.gpuFree = cls.gpuModels.map(() => new Int32Array(n));
    nodes.forEach((node, i) => {
      cls.names.push(node.name);
      cls.cpusFree[i] = clamp(node.cpusFree, node.cpus);
      cls.memFree[i] = clamp(node.memoryFreeMb, node.memoryMb);
      cls.maxCpusFree = Math.max(cls.maxCpusFree, cls.cpusFree[i]);
      cls.maxMemFree = Math.max(cls.maxMemFree, cls.memFree[i]);
      for (const g of node.gpus) {
        const m = cls.gpuModels.indexOf(g.model);
        cls.gpuFree[m][i] = clamp(g.free, g.total);
        cls.maxGpuFree[m] = Math.max(cls.maxGpuFree[m], cls.gpuFree[m][i]);
      }
    });
    cls.size = n;
    island.classes.push(cls);
  }
  return island;
}

function clamp(value: number, max: number): number {
  return Math.max(0, Math.min(max, value));
}
