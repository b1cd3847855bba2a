import type { JobSpec } from '../sbatch/job-spec';
import { Placer, type CapacitySnapshot, type PlacementOptions, type UserConstraints } from '../placement';
import { decidePlacement, type PlacementRecord } from './placement-decision';

/** Why a job is refused at submit: what the dispatcher would have said, with its placement. */
export interface NeverRunnable {
  reason: string;
  placement: PlacementRecord;
}

/**
 * Whether no island could ever run the job, decided at submit exactly as the dispatcher decides it
 * at dispatch (decidePlacement over the same capacity, in a placer of its own that reserves
 * nothing for anyone else): sbatch refuses an impossible job at once, so Archipelago does not
 * accept one only to reject it a moment later. A job that fits somewhere but must wait is
 * admitted; so is every job while no island is launched (islands may still form from latency) or
 * while an island's nodes are unknown (it might fit there), as the dispatcher would retry them.
 * A dependency's island is not known yet at submit: the check is the looser, island-free one.
 */
export function neverRunnable(
  snapshot: CapacitySnapshot,
  unknownIslands: readonly string[],
  spec: JobSpec,
  constraints: UserConstraints,
  options: PlacementOptions,
  now: Date,
): NeverRunnable | null {
  if (snapshot.islands.length === 0) return null;
  const outcome = decidePlacement(new Placer(snapshot, options), spec, constraints, undefined, unknownIslands, now, true);
  return outcome.kind === 'rejected' ? { reason: outcome.reason, placement: outcome.record } : null;
}
