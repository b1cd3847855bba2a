import type { JobSpec } from '../sbatch/job-spec';
import { DemandError, deriveDemand } from '../placement/job-demand';
import type { ArrayPart, CandidateExplanation, Placer, PlacementStatus, UserConstraints } from '../placement';

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
  /** A split array: its parts (island, partition, task expression, tasks that start now). */
  parts?: Array<{ island: string; partition: string; tasks: string; startNow: number }>;
  /** Scored islands best first, then rejected islands (with `rejected`) by name. */
  candidates: CandidateExplanation[];
}

export type PlacementOutcome =
  | { kind: 'placed'; island: string; partition: string; record: PlacementRecord }
  | { kind: 'split'; parts: ArrayPart[]; record: PlacementRecord }
  | { kind: 'rejected'; reason: string; record: PlacementRecord }
  /** No island fits, but some island's nodes are unknown (unreachable): decide later. */
  | { kind: 'retry'; reason: string };

/** A rejection decided before any island was scored. */
function unplaceable(reason: string, decidedAt: string): PlacementOutcome {
  return {
    kind: 'rejected',
    reason,
    record: { island: null, partition: null, decidedAt, status: 'unplaceable', score: null, expectedStartMinutes: null, reason, candidates: [] },
  };
}

/**
 * Places one job with `placer` (which reserves what the job uses, so the next job of the batch sees
 * it). A job that fits somewhere but not now is placed where it is expected to start first (SLURM
 * queues it); one that no island could ever run is rejected with the reasons, unless an island
 * whose nodes are unknown might have run it. An array that `maySplit` and that no single island can
 * start now is split across the islands that can (one part per island, still one job for the user).
 */
export function decidePlacement(
  placer: Placer,
  spec: JobSpec,
  constraints: UserConstraints,
  requiredIsland: string | undefined,
  unknownIslands: readonly string[],
  now: Date,
  maySplit = false,
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
  if (maySplit && spec.array && !requiredIsland) {
    const a = placer.placeArray(demand, constraints);
    const first = a.parts[0];
    const expected = first ? (a.candidates.find((c) => c.island === first.island)?.breakdown?.expectedStartMinutes ?? null) : null;
    const record: PlacementRecord = {
      island: a.parts.length === 1 ? first.island : null,
      partition: a.parts.length === 1 ? first.partition : null,
      decidedAt,
      status: a.status,
      score: first?.score ?? null,
      expectedStartMinutes: expected,
      ...(a.reason ? { reason: a.reason } : {}),
      ...(a.parts.length > 1 ? { parts: a.parts.map((p) => ({ island: p.island, partition: p.partition, tasks: p.expression, startNow: p.startNow })) } : {}),
      candidates: a.candidates,
    };
    if (a.parts.length > 1) return { kind: 'split', parts: a.parts, record };
    if (first) return { kind: 'placed', island: first.island, partition: first.partition, record };
    return nowhere(a.reason, record, unknownIslands, requiredIsland);
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
  return nowhere(d.reason, record, unknownIslands, requiredIsland);
}

/** No island can run the job: rejected, unless an island whose nodes are unknown might. */
function nowhere(why: string | undefined, record: PlacementRecord, unknownIslands: readonly string[], requiredIsland: string | undefined): PlacementOutcome {
  const reason = `no island can run it: ${why ?? 'no islands'}`;
  const mightFit = unknownIslands.filter((name) => !requiredIsland || name === requiredIsland);
  if (mightFit.length > 0) return { kind: 'retry', reason: `${reason} (nodes of ${mightFit.join(', ')} unknown; will retry)` };
  return { kind: 'rejected', reason, record };
}
