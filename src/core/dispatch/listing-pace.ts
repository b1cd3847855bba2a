/**
 * When a follower may read an island again. Reading SLURM (a listing, or states by id) costs the
 * island's slurmrestd and slurmctld, and the follower's own CPU, in proportion to what is read: on
 * an island that cannot list changes only (slurmrestd v0.0.38), every job it holds.
 *
 * - A read uses at most LISTING_DUTY_CYCLE of the time: the next waits for 3× the last one's length.
 * - While the dispatcher submits to the island, reads wait for the burst to pass, but never longer
 *   than MAX_BURST_DEFER_MS or, when reads are expensive, than it takes for them to use no more than
 *   BURST_LISTING_DUTY_CYCLE of the burst: a 2 s listing of a big 22.05 queue comes every 40 s of a
 *   sustained burst instead of every 8 s, and job states catch up once the burst ends.
 * - A listing of the whole queue (where states cannot be asked by id: slurmrestd v0.0.38 answers all
 *   jobs or none, SSH lists with squeue) grows with every job the burst submits, so even one that was
 *   cheap before the burst waits for it to pass, up to MAX_LISTING_BURST_DEFER_MS: on such islands
 *   job states lag by up to that much during a sustained burst.
 */
export const LISTING_DUTY_CYCLE = 0.25;
export const BURST_LISTING_DUTY_CYCLE = 0.05;
/** Submissions this recent make a burst. */
export const BURST_QUIET_MS = 300;
export const MAX_BURST_DEFER_MS = 5000;
export const MAX_LISTING_BURST_DEFER_MS = 30_000;

/** How a follower reads an island: the states of the jobs it follows, or a listing of every job. */
export type ReadKind = 'states' | 'listing';

export interface ListingPace {
  /** No read before this time (duty cycle of the last read). */
  notBefore: number;
  /** When the last tick that could read started (a tick that found nothing to follow counts too). */
  listedAt: number;
  /** How long the last read took (0 before the first). */
  lastReadMs: number;
}

export function mayReadNow(pace: ListingPace, now: number, submittingRecently: boolean, kind: ReadKind): boolean {
  if (now < pace.notBefore) return false;
  if (!submittingRecently) return true;
  const burstDefer = kind === 'listing' ? MAX_LISTING_BURST_DEFER_MS : MAX_BURST_DEFER_MS;
  return now - pace.listedAt >= Math.max(burstDefer, pace.lastReadMs / BURST_LISTING_DUTY_CYCLE);
}

/** The pace after a read that ran from `started` to `finished`. */
export function afterRead(started: number, finished: number): Omit<ListingPace, 'listedAt'> {
  const lastReadMs = finished - started;
  return { lastReadMs, notBefore: started + lastReadMs / LISTING_DUTY_CYCLE };
}
