/**
 * The capacity snapshot placement decides on: per island, its static description (tier, region,
 * provider, price, benchmark, partitions) and its dynamic state (per-node free resources, queue
 * depth). Pure data; `capacity-refresh.ts` builds and refreshes it from SLURM incrementally.
 */

import type { SubmitFeature } from '../sbatch/submit-features';

export type NodeState = 'idle' | 'mixed' | 'allocated' | 'drain' | 'down';

/** GPUs of one model on one node. */
export interface GpuPool {
  /** The GRES type as SLURM names it (`a100`, `h100`...); '' when the node's GRES has no type. */
  model: string;
  total: number;
  free: number;
}

export interface NodeCapacity {
  name: string;
  cpus: number;
  cpusFree: number;
  memoryMb: number;
  memoryFreeMb: number;
  gpus: GpuPool[];
  /** Active features, as `--constraint` matches them. */
  features: string[];
  /** `drain` and `down` nodes are never used (neither now nor later). */
  state: NodeState;
}

export interface PartitionLimits {
  name: string;
  /** MaxTime in minutes; null = UNLIMITED. */
  maxTimeMinutes: number | null;
  /** MaxNodes per job; null = UNLIMITED. */
  maxNodes: number | null;
  /** SLURM's Default=YES partition: tried first when the job names none. */
  isDefault?: boolean;
}

export interface QueueDepth {
  /** Jobs (array tasks count one each) pending on the island. */
  pendingJobs: number;
  /** Σ cpus × time limit of the pending jobs, in CPU-seconds. */
  pendingCpuSeconds: number;
}

/** What an island formed from latency knows about itself (file-configured islands have none). */
export interface IslandProfile {
  tier: string;
  boundMs: number;
  regions: string[];
  providers: string[];
  performanceClass: string;
}

export interface IslandCapacity {
  name: string;
  /** Topology tier name (`tight`, `loose`) and its bound: every node pair is within boundMs RTT. */
  tier: string;
  boundMs: number;
  regions: string[];
  providers: string[];
  /** Operator-assigned class, e.g. `standard`, `high`, `hpc`. */
  performanceClass: string;
  /** Price per core-hour, in one currency across the snapshot. */
  pricePerCoreHour: number;
  /** Benchmark score per core (higher is faster), comparable across the snapshot. */
  benchmarkScore: number;
  /** In order; partitions are assumed to span every node of the island. */
  partitions: PartitionLimits[];
  nodes: NodeCapacity[];
  queue: QueueDepth;
  /** What the island's way of submitting cannot send (slurmrestd without an SSH fallback); absent: everything. */
  unsendable?: readonly SubmitFeature[];
}

export interface CapacitySnapshot {
  /** Epoch ms of the newest refresh that went into the snapshot. */
  takenAtMs: number;
  islands: IslandCapacity[];
}

/** Nodes in these states can run a job later, when resources free up. */
export function nodeIsUsable(state: NodeState): boolean {
  return state === 'idle' || state === 'mixed' || state === 'allocated';
}
