import type { SlurmJobState } from '../slurm/slurm-client.port';

/**
 * Following by id (slurmrestd 24.11+): each tick asks only for the states of the jobs followed,
 * and fetches a job's full record only when its states moved since the record last seen, or, for
 * a job still pending, when that record is old (a pending job's reason can change while its state
 * does not: held, released, waiting on resources or a dependency). Both kinds are capped per tick,
 * so a burst of changes spreads over a few ticks instead of loading slurmctld at once. Pure.
 */
export interface WatchLimits {
  /** Full records fetched per tick for jobs whose states moved. */
  changedPerTick: number;
  /** Full records fetched per tick for pending jobs whose record is older than `pendingRefreshMs`. */
  refreshesPerTick: number;
  pendingRefreshMs: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = { changedPerTick: 20, refreshesPerTick: 2, pendingRefreshMs: 30_000 };

/** One followed job as this tick's `jobStates` answer saw it. */
export interface Probe {
  /** The job's id in Archipelago. */
  key: string;
  /** `statesFingerprint` of its entries, or null when SLURM listed none (it no longer knows the job). */
  fingerprint: string | null;
  /** Whether the job is pending (as SLURM's states say): only then is an old record refreshed. */
  pending: boolean;
  /**
   * The first time this job is watched: whether its states already match the stored job, so its
   * record can wait for the refresh round instead of being fetched at once.
   */
  matchesStored: boolean;
}

export interface WatchPlan {
  /** Fetch the full record of these, in this order. */
  fetch: string[];
  /** SLURM listed nothing for these. */
  missing: string[];
}

/** A stable text of a job's state entries: equal texts, nothing to fetch. */
export function statesFingerprint(entries: readonly SlurmJobState[]): string {
  return entries
    .map((e) => `${e.arrayTaskId ?? ''}:${e.jobId}:${e.state}`)
    .sort()
    .join(',');
}

interface Seen {
  fingerprint: string;
  /** When its full record was last read (0: never; it only matched the stored job). */
  recordAt: number;
}

export class StateWatch {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly limits: WatchLimits = DEFAULT_WATCH_LIMITS) {}

  plan(probes: readonly Probe[], now: number): WatchPlan {
    const changed: string[] = [];
    const stale: Array<{ key: string; recordAt: number }> = [];
    const missing: string[] = [];
    for (const probe of probes) {
      if (probe.fingerprint === null) {
        missing.push(probe.key);
        continue;
      }
      let seen = this.seen.get(probe.key);
      if (!seen && probe.matchesStored) {
        seen = { fingerprint: probe.fingerprint, recordAt: 0 };
        this.seen.set(probe.key, seen);
      }
      if (!seen || seen.fingerprint !== probe.fingerprint) changed.push(probe.key);
      else if (probe.pending && now - seen.recordAt >= this.limits.pendingRefreshMs) stale.push({ key: probe.key, recordAt: seen.recordAt });
    }
    stale.sort((a, b) => a.recordAt - b.recordAt);
    return {
      fetch: [...changed.slice(0, this.limits.changedPerTick), ...stale.slice(0, this.limits.refreshesPerTick).map((s) => s.key)],
      missing,
    };
  }

  /** The job's full record was read and applied while its states were `fingerprint`. */
  recorded(key: string, fingerprint: string, now: number): void {
    this.seen.set(key, { fingerprint, recordAt: now });
  }

  /** Stops remembering jobs no longer followed (ended, or no longer on this island). */
  forget(keys: Iterable<string>): void {
    for (const key of keys) this.seen.delete(key);
  }

  /** Keeps only these jobs. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * A StateWatch over an island's unfinished jobs read in pages (by id): where the next page starts,
 * and which jobs one whole pass saw, so the watch forgets jobs that ended elsewhere or moved.
 */
export class WatchLane {
  readonly watch: StateWatch;
  /** The id after which the next page starts ('0': the first page). */
  cursor = '0';
  private pass = new Set<string>();

  constructor(
    readonly pageSize: number,
    limits: WatchLimits = DEFAULT_WATCH_LIMITS,
  ) {
    this.watch = new StateWatch(limits);
  }

  /**
   * A page (ids in ascending order) was followed. A page shorter than `pageSize` ends the pass: the
   * watch keeps only the jobs this pass saw, which are returned; otherwise null.
   */
  advance(keys: readonly string[]): ReadonlySet<string> | null {
    for (const key of keys) this.pass.add(key);
    if (keys.length >= this.pageSize) {
      this.cursor = keys[keys.length - 1];
      return null;
    }
    const seen = this.pass;
    this.watch.retain(seen);
    this.pass = new Set();
    this.cursor = '0';
    return seen;
  }
}
