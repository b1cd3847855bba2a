/**
 * A mutable, indexed copy of a CapacitySnapshot for fast placement. The input snapshot is never
 * modified. Per island, nodes are grouped into classes of identical hardware (cpus, memory, GPU
 * pools, features); static filters run once per class, not per node. Free capacity lives in typed
 * arrays per class, with upper bounds of the free maxima that let a "does not fit now" answer
 * come without a scan. Every change to an island bumps its `version`, which is what per-demand
 * caches of placement key on (each shape's per-candidate state, the score's upper bounds): placing
 * one job only invalidates the island it landed on.
 */
import { nodeIsUsable, type CapacitySnapshot, type GpuPool, type IslandCapacity, type NodeCapacity, type PartitionLimits } from './capacity';

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
    this.gpuTotalAll = gpuTotal.reduce((sum, total) => sum + total, 0);
  }

  /** GPUs of the model (its index in the class; -1: any model, all pools together) free on `node`. */
  gpusFreeOn(node: number, model: number): number {
    if (model >= 0) return this.gpuFree[model][node];
    let sum = 0;
    for (const pool of this.gpuFree) sum += pool[node];
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
  /** eligible-classes.ts's cache of eligible node classes, one slot per per-node demand (static: hardware and features only). */
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
    this.islands = sorted.map((capacity, index) => buildIsland(index, capacity, canonical));
    for (const island of this.islands) {
      if (this.byName.has(island.name)) throw new Error(`duplicate island ${island.name} in the capacity snapshot`);
      this.byName.set(island.name, island);
    }
    const prices = sorted.map((island) => island.pricePerCoreHour).filter((price) => price > 0);
    this.minPrice = prices.length ? Math.min(...prices) : 0;
    this.maxBenchmark = Math.max(0, ...sorted.map((island) => island.benchmarkScore));
  }
}

/**
 * `canonicalKeys` maps a node's hardware key as listed to its canonical form (GPU pools and
 * features sorted), shared across islands: most nodes repeat a few spellings.
 */
function buildIsland(index: number, capacity: IslandCapacity, canonicalKeys: Map<string, string>): IslandState {
  const island = new IslandState(index, capacity);
  const classes = new Map<string, { nodeClass: NodeClass; nodes: NodeCapacity[] }>();
  for (const node of capacity.nodes) {
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
    for (const pool of node.gpus) {
      gpus += pool.total;
      island.gpuModels.set(pool.model, Math.max(island.gpuModels.get(pool.model) ?? 0, pool.total));
    }
    island.maxGpus = Math.max(island.maxGpus, gpus);
    for (const feature of node.features) island.featureUnion.add(feature);
    // The raw key (as listed) maps to the canonical one (sorted), computed once per raw spelling.
    let raw = `${node.cpus}|${node.memoryMb}|`;
    for (const pool of node.gpus) raw += `${pool.model}:${pool.total},`;
    raw += `|${node.features.join(',')}`;
    let key = canonicalKeys.get(raw);
    if (key === undefined) {
      key = `${node.cpus}|${node.memoryMb}|${poolsByModel(node)
        .map((pool) => `${pool.model}:${pool.total}`)
        .join(',')}|${[...new Set(node.features)].sort().join(',')}`;
      canonicalKeys.set(raw, key);
    }
    let entry = classes.get(key);
    if (!entry) {
      const pools = poolsByModel(node);
      const features = [...new Set(node.features)].sort();
      entry = {
        nodeClass: new NodeClass(
          new Set(features),
          node.cpus,
          node.memoryMb,
          pools.map((pool) => pool.model),
          pools.map((pool) => pool.total),
        ),
        nodes: [],
      };
      classes.set(key, entry);
    }
    entry.nodes.push(node);
  }
  // First-fit order inside an island: the least special hardware first (no GPUs, fewest features,
  // smallest), so that plain CPU jobs do not eat the CPUs of GPU nodes while plain nodes are free.
  const ordered = [...classes.entries()].sort(
    ([keyA, { nodeClass: a }], [keyB, { nodeClass: b }]) =>
      a.gpuTotalAll - b.gpuTotalAll ||
      a.features.size - b.features.size ||
      a.cpus - b.cpus ||
      a.memoryMb - b.memoryMb ||
      (keyA < keyB ? -1 : keyA > keyB ? 1 : 0),
  );
  for (const [, { nodeClass, nodes }] of ordered) {
    let inOrder = true;
    for (let i = 1; i < nodes.length && inOrder; i++) inOrder = nodes[i - 1].name < nodes[i].name;
    if (!inOrder) nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const nodeCount = nodes.length;
    nodeClass.cpusFree = new Int32Array(nodeCount);
    nodeClass.memFree = new Float64Array(nodeCount);
    nodeClass.gpuFree = nodeClass.gpuModels.map(() => new Int32Array(nodeCount));
    nodes.forEach((node, position) => {
      nodeClass.names.push(node.name);
      nodeClass.cpusFree[position] = clamp(node.cpusFree, node.cpus);
      nodeClass.memFree[position] = clamp(node.memoryFreeMb, node.memoryMb);
      nodeClass.maxCpusFree = Math.max(nodeClass.maxCpusFree, nodeClass.cpusFree[position]);
      nodeClass.maxMemFree = Math.max(nodeClass.maxMemFree, nodeClass.memFree[position]);
      for (const pool of node.gpus) {
        const model = nodeClass.gpuModels.indexOf(pool.model);
        nodeClass.gpuFree[model][position] = clamp(pool.free, pool.total);
        nodeClass.maxGpuFree[model] = Math.max(nodeClass.maxGpuFree[model], nodeClass.gpuFree[model][position]);
      }
    });
    nodeClass.size = nodeCount;
    island.classes.push(nodeClass);
  }
  return island;
}

/** The node's GPU pools by model name (the order a class keeps them in). */
function poolsByModel(node: NodeCapacity): GpuPool[] {
  return [...node.gpus].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

function clamp(value: number, max: number): number {
  return Math.max(0, Math.min(max, value));
}
