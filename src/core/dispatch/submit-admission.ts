import type { JobSpec } from '../sbatch/job-spec';
import { Placer, type CapacitySnapshot, type PlacementOptions, type UserConstraints } from '../placement';
import { decidePlacement, type PlacementRecord } from './placement-decision';

/** Why a job is refused at submit: what the dispatcher would have said, with its placement. */
export interface NeverRunnable {
  reason: string;
  placement: PlacementRecord;
}

/**
 * Decides at submit, exactly as the dispatcher decides at dispatch (decidePlacement over the same
 * capacity), whether no island could ever run a job: sbatch refuses an impossible job at once, so
 * Archipelago does not accept one only to reject it a moment later. A job that fits somewhere but
 * must wait is admitted; so is every job while no island is launched (islands may still form from
 * latency) or while an island's nodes are unknown (it might fit there), as the dispatcher would
 * retry them. A dependency's island is not known yet at submit: the check is the island-free one.
 *
 * One admission serves every submission of one capacity view (building the placement index is
 * what costs): what its placer reserves for one job changes where and when later ones would
 * start, never whether they can run at all, which the dispatcher relies on within a batch too.
 */
export class SubmitAdmission {
  private readonly placer: Placer | null;

  constructor(
    snapshot: CapacitySnapshot,
    private readonly unknownIslands: readonly string[],
    options: PlacementOptions,
  ) {
    this.placer = snapshot.islands.length === 0 ? null : new Placer(snapshot, options);
  }

  neverRunnable(spec: JobSpec, constraints: UserConstraints, now: Date): NeverRunnable | null {
    if (!this.placer) return null;
    const outcome = decidePlacement(this.placer, spec, constraints, undefined, this.unknownIslands, now, true);
    return outcome.kind === 'rejected' ? { reason: outcome.reason, placement: outcome.record } : null;
  }
}
