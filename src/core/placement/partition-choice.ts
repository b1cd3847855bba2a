/**
 * Which partition of an island a job is submitted to. A named partition must exist and admit the
 * job; without a name, the first that admits it, SLURM's Default=YES partition first (IslandState
 * keeps the partitions in that order). Admitting = the job's time limit within MaxTime and its node
 * count within MaxNodes. Partitions are assumed to span the whole island.
 */
import type { PartitionLimits } from './capacity';
import type { JobDemand } from './job-demand';
import type { IslandState } from './placement-index';
import { formatMinutes, listOrNone } from './reason-text';

/** A job without `--time` gets the partition's default time, which always fits. */
function exceedsMaxTime(partition: PartitionLimits, demand: JobDemand): boolean {
  return demand.timeGiven && partition.maxTimeMinutes !== null && (demand.timeLimitMinutes === null || demand.timeLimitMinutes > partition.maxTimeMinutes);
}

function exceedsMaxNodes(partition: PartitionLimits, demand: JobDemand): boolean {
  return partition.maxNodes !== null && demand.nodes > partition.maxNodes;
}

export function partitionAdmits(partition: PartitionLimits, demand: JobDemand): boolean {
  return !exceedsMaxTime(partition, demand) && !exceedsMaxNodes(partition, demand);
}

/** The partition the job goes to on this island, or null when none admits it. Hot path: no texts, no closures. */
export function firstFittingPartition(island: IslandState, demand: JobDemand): string | null {
  const partitions = island.partitions;
  for (let i = 0; i < partitions.length; i++) {
    const partition = partitions[i];
    if (demand.partition !== null && partition.name !== demand.partition) continue;
    if (partitionAdmits(partition, demand)) return partition.name;
    if (demand.partition !== null) break;
  }
  return null;
}

/** Why no partition of the island admits the job; only for an island where `firstFittingPartition` found none. */
export function whyNoPartitionFits(island: IslandState, demand: JobDemand): string {
  if (demand.partition !== null) {
    const named = island.partitions.find((partition) => partition.name === demand.partition);
    if (!named) return `no partition ${demand.partition} (partitions here: ${listOrNone(island.partitions.map((partition) => partition.name))})`;
    return describePartitionProblem(named, demand);
  }
  if (island.partitions.length === 0) return 'no partitions';
  return `no partition fits: ${island.partitions.map((partition) => describePartitionProblem(partition, demand)).join('; ')}`;
}

/** The first limit of the partition the job breaks; only for a partition that does not admit it. */
function describePartitionProblem(partition: PartitionLimits, demand: JobDemand): string {
  if (exceedsMaxTime(partition, demand)) {
    return `time limit ${formatMinutes(demand.timeLimitMinutes)} exceeds partition ${partition.name}'s MaxTime ${formatMinutes(partition.maxTimeMinutes)}`;
  }
  return `partition ${partition.name} allows at most ${partition.maxNodes} node(s) per job, the job needs ${demand.nodes}`;
}
