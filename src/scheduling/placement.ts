/**
 * Island choice for one job. Issue "Islands" grows this into full capacity-aware placement; the
 * rules here already hold: hard filters first (partition, a required island), then the least
 * loaded island, ties broken by name so the choice is deterministic.
 */
export interface IslandCandidate {
  name: string;
  partitions: string[];
  defaultPartition: string;
  /** Jobs placed there that have not ended. */
  unfinishedJobs: number;
}

export interface PlacementRequest {
  partition?: string;
  /** Set when the job depends on jobs already on that island. */
  requiredIsland?: string;
}

export type PlacementDecision =
  | { kind: 'placed'; island: string; partition: string; rejected: Array<{ island: string; reason: string }> }
  | { kind: 'unplaceable'; rejected: Array<{ island: string; reason: string }> };

export function chooseIsland(request: PlacementRequest, candidates: IslandCandidate[]): PlacementDecision {
  const rejected: Array<{ island: string; reason: string }> = [];
  const fit = candidates.filter((candidate) => {
    const reason =
      request.requiredIsland && candidate.name !== request.requiredIsland
        ? `the job depends on jobs on ${request.requiredIsland}`
        : request.partition && !candidate.partitions.includes(request.partition)
          ? `no partition ${request.partition}`
          : null;
    if (reason) rejected.push({ island: candidate.name, reason });
    return reason === null;
  });
  if (fit.length === 0) return { kind: 'unplaceable', rejected };
  fit.sort((a, b) => a.unfinishedJobs - b.unfinishedJobs || a.name.localeCompare(b.name));
  const chosen = fit[0];
  return { kind: 'placed', island: chosen.name, partition: request.partition ?? chosen.defaultPartition, rejected };
}
