import type { CapacitySnapshot } from './capacity';

export interface CapacityView {
  snapshot: CapacitySnapshot;
  /** Islands whose nodes could not be read and were never read before (placed on as if empty). */
  unknown: string[];
}

/** The islands' live capacity as placement sees it (a snapshot at most a couple of seconds old). */
export interface CapacitySource {
  view(): Promise<CapacityView>;
  /**
   * The latest view without waiting for SLURM once there is one (a stale one is refreshed in the
   * background), for callers that must not hang on a slow island, such as a submission.
   */
  recent(): Promise<CapacityView>;
}

export const CAPACITY_SOURCE = Symbol('CAPACITY_SOURCE');
