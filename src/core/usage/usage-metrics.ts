import type { AccountingRun, AccountingStep, Tres } from './accounting';
import { splitEvenly } from './largest-remainder';

/**
 * Usage of one Archipelago job, computed from its accounting runs. Everything is ALLOCATED
 * resource × elapsed time (what the job held, whether it used it or not), in integer units so
 * that the record hashes and signs the same everywhere:
 *   cpu-core-seconds = allocated CPUs × elapsed, memory-MiB-seconds = allocated MiB × elapsed,
 *   GPU-seconds per model = allocated GPUs of that model × elapsed, node-seconds = nodes × elapsed.
 * Every run counts: array tasks add up, and a requeued job pays for the runs that were requeued too
 * (they held the nodes); a run that never started adds nothing.
 */
export interface UsageKey {
  island: string;
  /** The array master id for an array, else the job's id. */
  slurmJobId: number;
  /** The earliest submission among the runs (unix s): tells a reused SLURM id apart. */
  submitTime: number;
}

export interface ResourceSeconds {
  nodeSeconds: number;
  cpuCoreSeconds: number;
  memoryMbSeconds: number;
  /** model → GPU-seconds; `unknown` when neither accounting nor the node inventory names a model. */
  gpuSeconds: Record<string, number>;
}

export interface NodeUsage extends ResourceSeconds {
  node: string;
}

export interface UsageMetrics extends ResourceSeconds {
  /** Σ elapsed over runs that started (for an array: task-seconds). */
  wallSeconds: number;
  /** memoryMbSeconds / 1024, three decimals (exact up to rounding down). */
  memoryGbSeconds: string;
  /** nodeSeconds / 3600, six decimals. */
  nodeHours: string;
  /** Distinct nodes any run used. */
  nodesUsed: number;
  runs: number;
  /** Runs that ended REQUEUED (their usage is included). */
  requeuedRuns: number;
  /** False when no run ever started (a job cancelled while pending): all metrics are zero. */
  started: boolean;
}

export interface RunSummary {
  slurmJobId: number;
  arrayTaskId?: number;
  state: string;
  submitTime: number;
  startTime: number | null;
  endTime: number | null;
  elapsedSeconds: number;
  nodes: string[];
  allocated: { cpu: number; memMb: number; nodes: number; gpus: number };
}

export interface JobUsage {
  key: UsageKey;
  metrics: UsageMetrics;
  /** Sorted by node name; sums to the metrics exactly. */
  nodes: NodeUsage[];
  /** Sorted by submission, then array task, then SLURM id. */
  runs: RunSummary[];
}

export interface UsageOptions {
  /** A node's GPU model from our inventory, for GPUs accounting did not type. */
  gpuModelOf?: (node: string) => string | undefined;
}

export const UNKNOWN_GPU_MODEL = 'unknown';

export function computeUsage(island: string, runs: readonly AccountingRun[], options: UsageOptions = {}): JobUsage {
  if (runs.length === 0) throw new Error('no accounting runs to compute usage from');
  const ordered = [...runs].sort((a, b) => a.submitTime - b.submitTime || (a.arrayTaskId ?? -1) - (b.arrayTaskId ?? -1) || a.slurmJobId - b.slurmJobId);
  const masterIds = new Set(ordered.map((r) => r.arrayJobId ?? r.slurmJobId));
  if (masterIds.size !== 1) throw new Error(`runs of different SLURM jobs: ${[...masterIds].join(', ')}`);
  const perNode = new Map<string, NodeUsage>();
  let wallSeconds = 0;
  for (const run of ordered) {
    if (!started(run)) continue;
    wallSeconds += run.elapsedSeconds;
    for (const share of nodeShares(run, options)) {
      const node = perNode.get(share.node) ?? { node: share.node, nodeSeconds: 0, cpuCoreSeconds: 0, memoryMbSeconds: 0, gpuSeconds: {} };
      node.nodeSeconds += run.elapsedSeconds;
      node.cpuCoreSeconds += share.cpu * run.elapsedSeconds;
      node.memoryMbSeconds += share.memMb * run.elapsedSeconds;
      for (const [model, count] of Object.entries(share.gpus)) {
        if (count > 0) node.gpuSeconds[model] = (node.gpuSeconds[model] ?? 0) + count * run.elapsedSeconds;
      }
      perNode.set(share.node, node);
    }
  }
  const nodes = [...perNode.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const totals = sumResources(nodes);
  return {
    key: { island, slurmJobId: [...masterIds][0], submitTime: ordered[0].submitTime },
    metrics: {
      wallSeconds,
      ...totals,
      memoryGbSeconds: decimal(totals.memoryMbSeconds, 1024, 3),
      nodeHours: decimal(totals.nodeSeconds, 3600, 6),
      nodesUsed: nodes.length,
      runs: ordered.length,
      requeuedRuns: ordered.filter((r) => r.state === 'REQUEUED').length,
      started: ordered.some(started),
    },
    nodes,
    runs: ordered.map(summarise),
  };
}

function started(run: AccountingRun): boolean {
  return run.startTime !== null && run.nodes.length > 0;
}

interface NodeShare {
  node: string;
  cpu: number;
  memMb: number;
  gpus: Record<string, number>;
}

/**
 * Accounting has no per-node split of a job's allocation. The batch step runs on the first node
 * and records that node's share, so the batch host gets the batch step's CPUs and memory and the
 * other nodes share the rest evenly (exact for the homogeneous allocations -N/--ntasks-per-node
 * and --exclusive make; an even split otherwise). GPUs are split evenly per model.
 */
function nodeShares(run: AccountingRun, options: UsageOptions): NodeShare[] {
  const nodes = run.nodes;
  const batch = run.steps.find((s) => s.id === 'batch');
  const batchHost = batchHostOf(batch, nodes, run.allocated);
  const others = batchHost === undefined ? nodes : nodes.filter((n) => n !== batchHost);
  const cpu = splitEvenly(run.allocated.cpu - (batchHost !== undefined ? batch!.allocated.cpu : 0), others.length);
  const mem = splitEvenly(run.allocated.memMb - (batchHost !== undefined ? batch!.allocated.memMb : 0), others.length);
  const shares: NodeShare[] = others.map((node, i) => ({ node, cpu: cpu[i], memMb: mem[i], gpus: {} }));
  if (batchHost !== undefined) shares.unshift({ node: batchHost, cpu: batch!.allocated.cpu, memMb: batch!.allocated.memMb, gpus: {} });
  shares.sort((a, b) => nodes.indexOf(a.node) - nodes.indexOf(b.node));
  const typed = Object.entries(run.allocated.gpusByModel).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [model, count] of typed) {
    splitEvenly(count, shares.length).forEach((n, i) => add(shares[i].gpus, model, n));
  }
  const untyped = run.allocated.gpus - typed.reduce((acc, [, count]) => acc + count, 0);
  if (untyped > 0) {
    splitEvenly(untyped, shares.length).forEach((n, i) => add(shares[i].gpus, options.gpuModelOf?.(shares[i].node) ?? UNKNOWN_GPU_MODEL, n));
  }
  return shares;
}

/** The batch host, when the batch step's share can be trusted (a multi-node run, within the total). */
function batchHostOf(batch: AccountingStep | undefined, nodes: string[], total: Tres): string | undefined {
  if (!batch || nodes.length < 2 || batch.nodes.length !== 1 || !nodes.includes(batch.nodes[0])) return undefined;
  if (batch.allocated.cpu > total.cpu || batch.allocated.memMb > total.memMb) return undefined;
  return batch.nodes[0];
}

function add(into: Record<string, number>, model: string, n: number): void {
  if (n > 0) into[model] = (into[model] ?? 0) + n;
}

function sumResources(nodes: readonly ResourceSeconds[]): ResourceSeconds {
  const total: ResourceSeconds = { nodeSeconds: 0, cpuCoreSeconds: 0, memoryMbSeconds: 0, gpuSeconds: {} };
  for (const n of nodes) {
    total.nodeSeconds += n.nodeSeconds;
    total.cpuCoreSeconds += n.cpuCoreSeconds;
    total.memoryMbSeconds += n.memoryMbSeconds;
    for (const [model, seconds] of Object.entries(n.gpuSeconds)) add(total.gpuSeconds, model, seconds);
  }
  return total;
}

function summarise(run: AccountingRun): RunSummary {
  const { cpu, memMb, nodes, gpus } = run.allocated;
  return {
    slurmJobId: run.slurmJobId,
    ...(run.arrayTaskId !== undefined ? { arrayTaskId: run.arrayTaskId } : {}),
    state: run.state,
    submitTime: run.submitTime,
    startTime: run.startTime,
    endTime: run.endTime,
    elapsedSeconds: started(run) ? run.elapsedSeconds : 0,
    nodes: run.nodes,
    allocated: { cpu, memMb, nodes, gpus },
  };
}

/** `value / divisor` with `places` decimals, rounded down, without floating point. */
export function decimal(value: number, divisor: number, places: number): string {
  const scaled = (BigInt(value) * 10n ** BigInt(places)) / BigInt(divisor);
  const text = scaled.toString().padStart(places + 1, '0');
  return `${text.slice(0, -places)}.${text.slice(-places)}`;
}
