import type { JobSpec } from '../sbatch/job-spec';
import { deriveDemand } from '../placement/job-demand';
import { costOf, type OfferingPrices } from './pricing';
import type { ResourceSeconds } from './usage-metrics';

export interface CostEstimate {
  /** Integer micro-denom: the most the job can be billed under the dearest price list that could apply. */
  estimate: bigint;
  denom: string;
  /** What was priced: everything requested, held for the whole time limit (or the default runtime). */
  basis: ResourceSeconds & { runtimeMinutes: number; tasks: number };
}

/**
 * A job's cost before it runs: its demand (nodes, CPUs and memory per node, GPUs, time; the same
 * derivation placement uses) held for its full time limit, for every array task, priced with each
 * candidate price list; the highest wins, since the island is not chosen yet. Budgets compare it.
 */
export function estimateJobCost(
  spec: JobSpec,
  priceLists: readonly OfferingPrices[],
  options: { defaultMemPerCpuMb?: number; defaultTimeMinutes?: number } = {},
): CostEstimate {
  if (priceLists.length === 0) throw new Error('no price list to estimate with');
  const demand = deriveDemand(spec, options);
  const tasks = demand.array?.taskIds.length ?? 1;
  const seconds = demand.runtimeMinutes * 60 * tasks;
  const basis: CostEstimate['basis'] = {
    nodeSeconds: demand.nodes * seconds,
    cpuCoreSeconds: demand.nodes * demand.cpusPerNode * seconds,
    memoryMbSeconds: demand.nodes * demand.memPerNodeMb * seconds,
    gpuSeconds: demand.gpusPerNode > 0 ? { [demand.gpuModel ?? 'default']: demand.nodes * demand.gpusPerNode * seconds } : {},
    runtimeMinutes: demand.runtimeMinutes,
    tasks,
  };
  let best = { estimate: -1n, denom: priceLists[0].denom };
  for (const prices of priceLists) {
    const estimate = costOf(basis, prices);
    if (estimate > best.estimate) best = { estimate, denom: prices.denom };
  }
  return { ...best, basis };
}
