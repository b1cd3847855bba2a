import type { JobSpec } from '../sbatch/job-spec';
import { Placer, type CapacitySnapshot, type PlacementOptions, type UserConstraints } from '../placement';
import { decidePlacement, type PlacementRecord } from './placement-decision';

/** Why a job is refused at submit: what the dispatcher would have said, with its placement. */
export interface NeverRunnable {
  reason: string;
  placement: PlacementRecord;
}

export interface AdmissionOptions extends PlacementOptions {
  /**
   * Islands can still be formed (a launcher is configured): the islands of today are not all there
   * will be, so an island's latency tier, which decides where multi-node jobs go, refuses nothing.
   */
  formable: boolean;
}

/**
 * Decides at submit whether no island could ever run a job, with the dispatcher's own placement
 * (decidePlacement) over the capacity it knows: sbatch refuses an impossible job at once, so
 * Archipelago does not accept one only to reject it later. "Ever" is judged as sbatch judges it:
 * drained and down nodes count (they come back; sbatch queues a job that needs them), and with a
 * launcher, latency tiers do not refuse (islands re-form). A job that fits somewhere but must wait
 * is admitted; so is every job while no island is launched or an island's nodes are unknown (it
 * might fit there), as the dispatcher would retry them. A dependency's island is not known yet at
 * submit: the check is the island-free one.
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
    private readonly options: AdmissionOptions,
  ) {
    this.placer = snapshot.islands.length === 0 ? null : new Placer(everUsable(snapshot), options);
  }

  neverRunnable(spec: JobSpec, constraints: UserConstraints, now: Date): NeverRunnable | null {
    if (!this.placer) return null;
    const judged = this.options.formable ? { ...constraints, maxIslandLatencyMs: Number.POSITIVE_INFINITY } : constraints;
    const outcome = decidePlacement(this.placer, spec, judged, undefined, this.unknownIslands, now, true);
    return outcome.kind === 'rejected' ? { reason: outcome.reason, placement: outcome.record } : null;
  }
}

/** Drained and down nodes as busy ones: not usable now, usable once they return. */
function everUsable(snapshot: CapacitySnapshot): CapacitySnapshot {
  return {
    ...snapshot,
    islands: snapshot.islands.map((island) => ({
      ...island,
      nodes: island.nodes.map((node) =>
        node.state === 'drain' || node.state === 'down'
          ? { ...node, state: 'allocated' as const, cpusFree: 0, memoryFreeMb: 0, gpus: node.gpus.map((g) => ({ ...g, free: 0 })) }
          : node,
      ),
    })),
  };
}
