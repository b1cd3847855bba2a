/**
 * The hard filters: whether an island could ever run a job, whatever is free now. They run in the
 * order of HARD_FILTERS (the README's table); the first that rejects an island gives its reason.
 * Each filter has a cheap test (`rejects`, the hot path while shapes are built: no texts) and a
 * reason built only for explanations, so the two can never disagree on order or conditions.
 */
import { findMatchGroup, renderExpr, satisfies } from './feature-constraint';
import { eligibleClasses, type IslandEligibility } from './eligible-classes';
import type { JobDemand } from './job-demand';
import type { PerNodeDemand } from './node-fit';
import { firstFittingPartition, whyNoPartitionFits } from './partition-choice';
import type { UserConstraints } from './placement-options';
import type { IslandState } from './placement-index';
import { listOrNone } from './reason-text';
import { SUBMIT_FEATURE_OPTION, type SubmitFeature } from '../sbatch/submit-features';

/** The user constraints and the demand's tier need, prepared once per shape for the island tests. */
export interface HardFilters {
  onlyIslands: ReadonlySet<string> | null;
  excludedIslands: ReadonlySet<string> | null;
  regions: ReadonlySet<string> | null;
  providers: ReadonlySet<string> | null;
  performanceClasses: ReadonlySet<string> | null;
  maxPricePerCoreHour: number | null;
  /** The loosest tier bound the job accepts (Infinity: any). */
  maxLatencyBoundMs: number;
  /** Where that bound comes from, for the reason: the job is multi-node, or the user set it. */
  latencyBoundSource: 'multi-node' | 'user' | null;
  tightBoundMs: number;
  /** Where this per-node demand's eligible classes are cached on each island (see eligibleClasses). */
  eligibleCacheSlot: number;
}

export function hardFiltersFor(demand: JobDemand, constraints: UserConstraints, tightBoundMs: number, eligibleCacheSlot: number): HardFilters {
  const setOf = (values: string[] | undefined) => (values && values.length ? new Set(values) : null);
  return {
    onlyIslands: setOf(constraints.islands),
    excludedIslands: setOf(constraints.excludeIslands),
    regions: setOf(constraints.regions),
    providers: setOf(constraints.providers),
    performanceClasses: setOf(constraints.performanceClasses),
    maxPricePerCoreHour: constraints.maxPricePerCoreHour ?? null,
    maxLatencyBoundMs: constraints.maxIslandLatencyMs ?? (demand.requiresTightTier ? tightBoundMs : Infinity),
    latencyBoundSource: constraints.maxIslandLatencyMs !== undefined ? 'user' : demand.requiresTightTier ? 'multi-node' : null,
    tightBoundMs,
    eligibleCacheSlot,
  };
}

interface HardFilter {
  rejects(island: IslandState, filters: HardFilters, demand: JobDemand, perNode: PerNodeDemand): boolean;
  /** Only called for an island `rejects` rejected. */
  reason(island: IslandState, filters: HardFilters, demand: JobDemand, perNode: PerNodeDemand): string;
}

/** The partition depends on the time limit, so the time-independent check (shared by shapes that differ only in time) skips it. */
const PARTITION_FILTER: HardFilter = {
  rejects: (island, _filters, demand) => firstFittingPartition(island, demand) === null,
  reason: (island, _filters, demand) => whyNoPartitionFits(island, demand),
};

const HARD_FILTERS: readonly HardFilter[] = [
  {
    rejects: (island, filters) => filters.onlyIslands !== null && !filters.onlyIslands.has(island.name),
    reason: (_island, filters) => `not one of the islands the job is restricted to (${listOrNone(filters.onlyIslands!)})`,
  },
  {
    rejects: (island, filters) => filters.excludedIslands !== null && filters.excludedIslands.has(island.name),
    reason: () => 'excluded by the job',
  },
  {
    rejects: (island, filters) => filters.regions !== null && !sharesAny(island.regions, filters.regions),
    reason: (island, filters) => `region ${listOrNone(island.regions)} is not one of the requested ${listOrNone(filters.regions!)}`,
  },
  {
    rejects: (island, filters) => filters.providers !== null && !sharesAny(island.providers, filters.providers),
    reason: (island, filters) => `provider ${listOrNone(island.providers)} is not one of the requested ${listOrNone(filters.providers!)}`,
  },
  {
    rejects: (island, filters) => filters.performanceClasses !== null && !filters.performanceClasses.has(island.capacity.performanceClass),
    reason: (island, filters) => `performance class ${island.capacity.performanceClass} is not one of the requested ${listOrNone(filters.performanceClasses!)}`,
  },
  {
    rejects: (island, filters) => filters.maxPricePerCoreHour !== null && island.capacity.pricePerCoreHour > filters.maxPricePerCoreHour,
    reason: (island, filters) => `price ${island.capacity.pricePerCoreHour}/core-hour is above the job's limit of ${filters.maxPricePerCoreHour}`,
  },
  {
    // What the island's way of submitting cannot send would be refused there (or run differently).
    rejects: (island, _filters, demand) => unsendableOn(island, demand).length > 0,
    reason: (island, _filters, demand) =>
      `its SLURM is reached through slurmrestd without an SSH fallback, which cannot send ${unsendableOn(island, demand)
        .map((feature) => SUBMIT_FEATURE_OPTION[feature])
        .join(', ')}; islands reached over SSH (or with an ssh fallback) can`,
  },
  {
    rejects: (island, filters) => island.capacity.boundMs > filters.maxLatencyBoundMs,
    reason: ({ capacity }, filters, demand) =>
      filters.latencyBoundSource === 'multi-node'
        ? `${capacity.tier} tier (<= ${capacity.boundMs} ms) is too loose: a ${demand.nodes}-node job needs the tight tier (<= ${filters.tightBoundMs} ms); set maxIslandLatencyMs (or --switches=2 or more) to accept looser islands`
        : `${capacity.tier} tier (<= ${capacity.boundMs} ms) is looser than the job's maxIslandLatencyMs of ${filters.maxLatencyBoundMs} ms`,
  },
  PARTITION_FILTER,
  {
    rejects: (island, _filters, demand) => island.usableNodes === 0 || demand.nodes > island.usableNodes,
    reason: (island, _filters, demand) =>
      island.usableNodes === 0
        ? `no usable node (${island.unusableNodes} drained or down)`
        : `the job needs ${demand.nodes} nodes, the island has ${island.usableNodes} usable` +
          (island.unusableNodes ? ` (${island.unusableNodes} drained or down)` : ''),
  },
  {
    // Per node: the largest count of the model (or of all models) on one usable node.
    rejects: (island, _filters, demand, perNode) =>
      perNode.gpus > 0 && (demand.gpuModel !== null ? (island.gpuModels.get(demand.gpuModel) ?? 0) < perNode.gpus : island.maxGpus < perNode.gpus),
    reason: (island, _filters, demand, perNode) => {
      if (demand.gpuModel === null) {
        return island.maxGpus === 0 ? 'no GPUs' : `no node has ${perNode.gpus} GPUs (at most ${island.maxGpus} per node)`;
      }
      const mostPerNode = island.gpuModels.get(demand.gpuModel);
      return mostPerNode === undefined
        ? `no ${demand.gpuModel} GPUs (GPU models here: ${listOrNone([...island.gpuModels.keys()].map((model) => model || 'untyped'))})`
        : `no node has ${perNode.gpus} ${demand.gpuModel} GPUs (at most ${mostPerNode} per node)`;
    },
  },
  {
    // Constraints have no negation: if the union of the island's features fails, every node fails.
    rejects: (island, _filters, demand) => demand.constraint !== null && !satisfies(demand.constraint.expr, island.featureUnion),
    reason: (island, _filters, demand) =>
      `no node has features matching "${demand.constraint!.text}" (features here: ${listOrNone([...island.featureUnion].sort())})`,
  },
  {
    rejects: (island, _filters, _demand, perNode) => perNode.cpus > island.maxCpus,
    reason: (island, _filters, _demand, perNode) => `no node has ${perNode.cpus} CPUs (largest: ${island.maxCpus})`,
  },
  {
    rejects: (island, _filters, _demand, perNode) => !perNode.wholeNodeMemory && perNode.memoryMb > island.maxMemoryMb,
    reason: (island, _filters, _demand, perNode) => `no node has ${perNode.memoryMb} MB of memory (largest: ${island.maxMemoryMb} MB)`,
  },
];

const TIME_INDEPENDENT_FILTERS = HARD_FILTERS.filter((filter) => filter !== PARTITION_FILTER);

/**
 * Every hard filter but the partition, then the joint per-node fit: the island's eligible classes,
 * or null when the island can never run the job. No texts (the hot path).
 */
export function passesTimeIndependentFilters(island: IslandState, filters: HardFilters, demand: JobDemand, perNode: PerNodeDemand): IslandEligibility | null {
  for (const filter of TIME_INDEPENDENT_FILTERS) if (filter.rejects(island, filters, demand, perNode)) return null;
  const eligibility = eligibleClasses(island, demand, perNode, filters.eligibleCacheSlot);
  return eligibility.byAlternative.length === 0 ? null : eligibility;
}

/** Why the island can never run the job (the first filter that fails), or null when it passes them all. */
export function rejectionReason(island: IslandState, filters: HardFilters, demand: JobDemand, perNode: PerNodeDemand): string | null {
  for (const filter of HARD_FILTERS) {
    if (filter.rejects(island, filters, demand, perNode)) return filter.reason(island, filters, demand, perNode);
  }
  const { byAlternative, nodesEver } = eligibleClasses(island, demand, perNode, filters.eligibleCacheSlot);
  if (byAlternative.length > 0) return null;
  // Each resource exists on some node, but not together on enough different nodes.
  const what = describePerNodeDemand(demand, perNode);
  const constraint = demand.constraint;
  const matching =
    constraint && constraint.alternatives.length > 1 ? ` with the same one of ${renderExpr(findMatchGroup(constraint.expr) ?? constraint.expr)}` : '';
  return nodesEver === 0 ? `no single node has ${what} together` : `only ${nodesEver} node(s) can hold ${what}${matching}; the job needs ${demand.nodes}`;
}

function unsendableOn(island: IslandState, demand: JobDemand): SubmitFeature[] {
  const unsendable = island.capacity.unsendable;
  return unsendable?.length ? demand.submitFeatures.filter((feature) => unsendable.includes(feature)) : [];
}

function sharesAny(have: ReadonlySet<string>, wanted: ReadonlySet<string>): boolean {
  for (const value of have) if (wanted.has(value)) return true;
  return false;
}

function describePerNodeDemand(demand: JobDemand, perNode: PerNodeDemand): string {
  const parts = [perNode.exclusive ? 'a whole node' : `${perNode.cpus} CPUs`];
  if (perNode.wholeNodeMemory) parts.push('all its memory');
  else if (perNode.memoryMb > 0) parts.push(`${perNode.memoryMb} MB`);
  if (perNode.gpus > 0) parts.push(`${perNode.gpus} ${demand.gpuModel ?? ''} GPUs`.replace('  ', ' '));
  if (demand.constraint) parts.push(`features "${demand.constraint.text}"`);
  return parts.join(', ');
}
