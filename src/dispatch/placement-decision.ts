import type { JobSpec } from '../sbatch/job-spec';
import { DemandError, deriveDemand } from '../scheduling/job-demand';
import type { CandidateExplanation, Placer, PlacementStatus, UserConstraints } from '../scheduling/place';

/** What is stored in `jobs.placement` and served by `GET /v1/jobs/{id}/placement`. */
export interface PlacementRecord {
  island: string | null;
  partition: string | null;
  /** ISO 8601. */
  decidedAt: string;
  status: PlacementStatus;
  score: number | null;
  expectedStartMinutes: number | null;
  /** Why no island can run the job (status `unplaceable`). */
  reason?: string;
  /** Scored islands best first, then rejected islands (with `rejected`) by name. */
  candidates: CandidateExplanation[];
}

export type PlacementOutcome =
  | { kind: 'placed'; island: string; partition: string; record: PlacementRecord }
  | { kind: 'rejected'; reason: string; record: PlacementRecord }
  /** No island fits, but some island's nodes are unknown (unreachable): decide later. */
  | { kind: 'retry'; reason: string };

/** A rejection decided before any island was scored. */
function unplaceable(reason: string, decidedAt: string): PlacementOutcome {
  return { kind: 'rejected', reason, record: { island: null, partition: null, decidedAt, status: 'unplaceable', score: null, expectedStartMinutes: null, reason, candidates: [] } };
}

/**
 * Places one job with `placer` (which reserves what the job uses, so the next job of the batch sees
 * it). A job that fits somewhere but not now is placed where it is expected to start first (SLURM
 * queues it); one that no island could ever run is rejected with the reasons, unless an island
 * whose nodes are unknown might have run it.
 */
export function decidePlacement(
  placer: Placer,
  spec: JobSpec,
  constraints: UserConstraints,
  requiredIsland: string | undefined,
  unknownIslands: readonly string[],
  now: Date,
): PlacementOutcome {
  const decidedAt = now.toISOString();
  let demand;
  try {
    demand = deriveDemand(spec);
  } catch (error) {
    if (!(error instanceof DemandError)) throw error;
    return unplaceable(`cannot place the job: ${error.message}`, decidedAt);
  }
  // A dependency pins the job to its island; the submitter's island list still applies (both must hold).
  if (requiredIsland && constraints.islands && !constraints.islands.includes(requiredIsland)) {
    return unplaceable(`it depends on a job on island ${requiredIsland}, which its placement constraints do not allow`, decidedAt);
  }
  const d = placer.place(demand, requiredIsland ? { ...constraints, islands: [requiredIsland] } : constraints);
  const record: PlacementRecord = {
    island: d.island,
    partition: d.partition,
    decidedAt,
    status: d.status,
    score: d.score,
    expectedStartMinutes: d.expectedStartMinutes,
    ...(d.reason ? { reason: d.reason } : {}),
    candidates: d.candidates,
  };
  if (d.island !== null && d.partition !== null) return { kind: 'placed', island: d.island, partition: d.partition, record };
  const reason = `no island can run it: ${d.reason ?? 'no islands'}`;
  const mightFit = unknownIslands.filter((name) => !requiredIsland || name === requiredIsland);
  if (mightFit.length > 0) return { kind: 'retry', reason: `${reason} (nodes of ${mightFit.join(', ')} unknown; will retry)` };
  return { kind: 'rejected', reason, record };
}
