/**
 * Which node classes of an island could ever hold a job (by their totals, whatever is free now):
 * the last hard filter, and the list every later "fits now" scan walks instead of all classes.
 */
import { satisfies, type FeatureExpr } from './feature-constraint';
import type { JobDemand } from './job-demand';
import type { PerNodeDemand } from './node-fit';
import type { IslandState, NodeClass } from './placement-index';

/** A node class that could hold the per-node demand, with the GPU pool the job draws from there. */
export interface EligibleClass {
  nodeClass: NodeClass;
  /** Index of the demanded GPU model in the class; -1 = any model (or no GPU asked). */
  gpuModel: number;
}

export interface IslandEligibility {
  /**
   * Per alternative of the job's `--constraint` (one without a matching-OR group), the classes
   * that could hold it; only alternatives with at least the job's node count of nodes are kept,
   * so an empty list means the island can never run the job.
   */
  byAlternative: EligibleClass[][];
  /** The most nodes any single alternative offers (for the "only N node(s) can hold" reason). */
  nodesEver: number;
}

/**
 * The island's eligible classes for the demand. Cached on the island under `cacheSlot` (one slot
 * per per-node demand): shapes that differ only in time, partition or user constraints share it.
 */
export function eligibleClasses(island: IslandState, demand: JobDemand, perNode: PerNodeDemand, cacheSlot: number): IslandEligibility {
  const cached = island.eligibleCache[cacheSlot] as IslandEligibility | undefined;
  if (cached) return cached;
  const alternatives: Array<FeatureExpr | null> = demand.constraint ? demand.constraint.alternatives : [null];
  const byAlternative: EligibleClass[][] = [];
  let nodesEver = 0;
  for (const features of alternatives) {
    const eligible: EligibleClass[] = [];
    let nodes = 0;
    for (const nodeClass of island.classes) {
      if (features && !satisfies(features, nodeClass.features)) continue;
      if (nodeClass.cpus < perNode.cpus || (!perNode.wholeNodeMemory && nodeClass.memoryMb < perNode.memoryMb)) continue;
      let gpuModel = -1;
      if (perNode.gpus > 0) {
        if (demand.gpuModel !== null) {
          gpuModel = nodeClass.gpuModels.indexOf(demand.gpuModel);
          if (gpuModel < 0 || nodeClass.gpuTotal[gpuModel] < perNode.gpus) continue;
        } else if (nodeClass.gpuTotalAll < perNode.gpus) {
          continue;
        }
      }
      eligible.push({ nodeClass, gpuModel });
      nodes += nodeClass.size;
    }
    nodesEver = Math.max(nodesEver, nodes);
    if (nodes >= demand.nodes) byAlternative.push(eligible);
  }
  const eligibility = { byAlternative, nodesEver };
  island.eligibleCache[cacheSlot] = eligibility;
  return eligibility;
}
