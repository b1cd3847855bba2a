import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { Island } from '../../../adapters/slurm/island-directory';
import { type HeldLock, tryLock } from '../../../adapters/postgres/advisory-lock';
import { rows } from '../../../adapters/postgres/sql';
import { JobsRepository } from '../jobs.repository';
import { StateChange } from '../../../core/jobs/job-rows';
import { type JobState, parseSlurmState } from '../../../core/jobs/lifecycle';
import type { SlurmJobRecord, SlurmJobState } from '../../../core/slurm/slurm-client.port';
import { type Probe, statesFingerprint, WatchLane } from '../../../core/dispatch/state-watch';
import { DispatchActivity } from './dispatch-activity';
import { afterRead, BURST_QUIET_MS, type ListingPace, mayReadNow } from '../../../core/dispatch/listing-pace';
import { JobTagger, TaggedJob } from '../../../core/dispatch/job-tag';
import { ArrayTasks, observeJob, TrackedJob } from '../../../core/dispatch/observation';
import { taskWrites, WrittenTasks } from '../../../core/dispatch/task-writes';
import { ISLAND_DIRECTORY, type IslandDirectory } from '../../../adapters/slurm/island-directory';

/** Just what following needs of a job: no script, no environment. */
interface FollowedJob extends TrackedJob, TaggedJob {
  /** Set on a part of a split array: its parent's state follows the parts'. */
  parent_id: string | null;
  dispatched_at: Date | null;
  updated_at: Date;
}

/**
 * A job recorded after the previous tick loaded its jobs was not compared with that tick's
 * listing, and SLURM may have nothing newer to say about it (a held job): such a job makes the
 * next listing a full one. The margin covers transactions that committed while we were reading.
 */
const FRESH_MARGIN_MS = 5000;

interface IslandFollower extends ListingPace {
  island: Island;
  since?: number;
  /** Held while this process follows the island (one follower per island across every worker). */
  lock: HeldLock | null;
  running: boolean;
  /** When the previous tick read the island's unfinished jobs (database clock). */
  loadedAt?: Date;
  /** Per array job: the task rows this follower wrote last (only it writes them while it holds the lock). */
  written: Map<string, WrittenTasks>;
  /**
   * Following by id (adapters whose `jobStates` answers): single jobs are asked for together, a page
   * a tick; each array alone (its split-off tasks carry their own ids), a few a tick.
   */
  lanes: { singles: WatchLane; arrays: WatchLane };
  /** Whether the island answers states by id (else it is listed whole); unknown until first asked. */
  byId?: boolean;
}

/** Single jobs asked for per tick when following by id: an island with 100,000 held jobs is read in pages. */
const SINGLES_PER_TICK = 2000;
/** Arrays asked for per tick (one request each). */
const ARRAYS_PER_TICK = 5;

const NEVER_SATISFIED = 'DependencyNeverSatisfied';

/** A per-island advisory lock key: one follower per island across all worker processes. */
function lockKey(name: string): number {
  let hash = 0;
  for (const char of `follow:${name}`) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/**
 * Follows every island's queue with one cheap call per tick: SLURM answers "nothing changed since
 * T" (304) most of the time, and otherwise one listing covers every job of ours on that island.
 * Jobs SLURM no longer knows are asked for one by one, and only when a listing says they are gone.
 */
@Injectable()
export class FollowService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FollowService.name);
  private readonly followers = new Map<string, IslandFollower>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly tagger: JobTagger;

  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobsRepository,
    private readonly activity: DispatchActivity,
    @Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tagger = new JobTagger(config.instanceId, config.tagKey.key, config.tagKey.createdAt);
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.stopped) return;
      Promise.allSettled(this.currentFollowers().map((f) => this.followIsland(f))).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.config.follow.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.config.follow.intervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.followers.values()].map((f) => f.lock?.release()));
  }

  /** One follower per island the registry knows now: islands are launched and retired while we run. */
  private currentFollowers(): IslandFollower[] {
    const islands = this.islands.all();
    const names = new Set(islands.map((island) => island.settings.connection.name));
    for (const [name, follower] of this.followers) {
      if (names.has(name) && this.islands.get(name) === follower.island) continue;
      if (follower.running) continue;
      this.followers.delete(name);
      this.releaseLock(follower).catch((error) => this.logger.warn(`releasing the lock of ${name}: ${error.message}`));
    }
    for (const island of islands) {
      const name = island.settings.connection.name;
      if (!this.followers.has(name)) {
        this.followers.set(name, {
          island,
          lock: null,
          running: false,
          notBefore: 0,
          listedAt: Date.now(),
          lastReadMs: 0,
          written: new Map(),
          lanes: { singles: new WatchLane(SINGLES_PER_TICK), arrays: new WatchLane(ARRAYS_PER_TICK) },
        });
      }
    }
    return [...this.followers.values()];
  }

  private async followIsland(follower: IslandFollower): Promise<void> {
    if (follower.running) return;
    const name = follower.island.settings.connection.name;
    follower.running = true;
    try {
      // How the island can be read decides how reads are paced; asking for no ids sends no request.
      follower.byId ??= (await follower.island.slurm.jobStates([])) !== null;
      if (!mayReadNow(follower, Date.now(), this.activity.submittingWithin(name, BURST_QUIET_MS), follower.byId ? 'states' : 'listing')) return;
      follower.listedAt = Date.now();
      if (!(await this.holdLock(follower))) return;
      // Two EXISTS first, the rows only when SLURM has news: an island with 100,000 quiet jobs costs
      // an index probe per tick, not 100,000 rows.
      const previous = follower.loadedAt;
      const probe = await this.probeUnfinished(name, previous);
      follower.loadedAt = probe.loaded_at;
      if (!probe.unfinished) return;
      if (follower.byId && (await this.paced(follower, () => this.followById(follower, name)))) return;
      const fresh = !previous || probe.fresh;
      const snapshot = await this.paced(follower, () => follower.island.slurm.listJobs(fresh ? undefined : follower.since));
      if (snapshot === null) return;
      const unfinished = await this.unfinishedOn(name);
      // By the SLURM id recorded at submit (an array's tasks under their array's id), never by a
      // comment: anyone can copy a comment, nobody can take a SLURM id that SLURM gave us.
      const bySlurmId = new Map<string, SlurmJobRecord[]>();
      for (const record of snapshot.jobs) {
        const id = String(record.arrayJobId ?? record.jobId);
        const group = bySlurmId.get(id);
        if (group) group.push(record);
        else bySlurmId.set(id, [record]);
      }
      const changes: Array<{ id: string; from: JobState; change: StateChange }> = [];
      for (const row of unfinished) {
        const records = (bySlurmId.get(row.slurm_job_id!) ?? []).filter((record) => this.isRecordOf(row, record));
        const change = records.length ? await this.observe(follower, row, records) : await this.checkMissing(follower, row);
        if (change) changes.push({ id: row.id, from: row.state, change });
      }
      const following = new Set(unfinished.map((row) => row.id));
      for (const id of follower.written.keys()) if (!following.has(id)) follower.written.delete(id);
      // One statement for the whole tick: a busy island changes thousands of jobs at once.
      await this.apply(unfinished, changes);
      follower.since = snapshot.asOf;
    } catch (error) {
      this.logger.warn(`following ${name} failed: ${(error as Error).message}`);
    } finally {
      follower.running = false;
    }
  }

  /**
   * Runs a read of the island and paces the next one by it, answered or failed: a failed (e.g.
   * timed-out) listing must not be retried at once, as SLURM may still be building it. Only reads
   * pace: a failure before one (the lock, the probe) or after a listing (writing its changes) says
   * nothing about what reading the island costs. Following by id reads and writes in turns, so
   * there the whole tick counts.
   */
  private async paced<T>(follower: IslandFollower, read: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await read();
    } finally {
      Object.assign(follower, afterRead(started, Date.now()));
    }
  }

  /** Writes a tick's changes in one statement (a busy island changes thousands of jobs at once), then split arrays' parents. */
  private async apply(rows: FollowedJob[], changes: Array<{ id: string; from: JobState; change: StateChange }>): Promise<void> {
    await this.jobs.transitionMany(changes);
    const changed = new Set(changes.map((c) => c.id));
    const parents = rows.filter((row) => row.parent_id !== null && changed.has(row.id)).map((row) => row.parent_id!);
    await this.jobs.refreshSplitParents(parents);
  }

  /**
   * One tick by id: the states of a page of the island's unfinished single jobs (one call) and of a
   * few arrays (one call each), then full records only for the few each lane's StateWatch picks. Its
   * cost grows with the jobs followed and changed, never with the finished jobs slurmctld holds.
   * False when the adapter cannot ask by id.
   */
  private async followById(follower: IslandFollower, name: string): Promise<boolean> {
    const { singles: singleLane, arrays: arrayLane } = follower.lanes;
    const slurm = follower.island.slurm;
    const singles = await this.unfinishedPage(name, singleLane.cursor, singleLane.pageSize, false);
    const singleStates = await slurm.jobStates(singles.map((row) => Number(row.slurm_job_id)));
    if (singleStates === null) {
      follower.byId = false;
      return false;
    }
    const arrays = await this.unfinishedPage(name, arrayLane.cursor, arrayLane.pageSize, true);
    const entries = new Map<string, SlurmJobState[]>();
    const bySlurmId = new Map<number, SlurmJobState[]>();
    for (const state of singleStates) bySlurmId.set(state.jobId, [...(bySlurmId.get(state.jobId) ?? []), state]);
    for (const row of singles) entries.set(row.id, bySlurmId.get(Number(row.slurm_job_id)) ?? []);
    for (const row of arrays) {
      // With no single job to ask for, an adapter that cannot ask by id first says so here.
      const states = await slurm.jobStates([Number(row.slurm_job_id)]);
      if (states === null) {
        follower.byId = false;
        return false;
      }
      entries.set(row.id, states);
    }
    const changes = [...(await this.followLane(follower, singleLane, singles, entries)), ...(await this.followLane(follower, arrayLane, arrays, entries))];
    await this.apply([...singles, ...arrays], changes);
    const ended = changes.filter((c) => c.change.endedAt).map((c) => c.id);
    for (const lane of [singleLane, arrayLane]) lane.watch.forget(ended);
    for (const id of ended) follower.written.delete(id);
    singleLane.advance(singles.map((row) => row.id));
    // task rows are written for arrays only: forget those of arrays a whole pass did not see
    const arraysSeen = arrayLane.advance(arrays.map((row) => row.id));
    if (arraysSeen) for (const id of follower.written.keys()) if (!arraysSeen.has(id)) follower.written.delete(id);
    return true;
  }

  /** The changes a page calls for: full records read for what the lane's watch picks, missing jobs looked up. */
  private async followLane(
    follower: IslandFollower,
    lane: WatchLane,
    page: FollowedJob[],
    entries: Map<string, SlurmJobState[]>,
  ): Promise<Array<{ id: string; from: JobState; change: StateChange }>> {
    const now = Date.now();
    const probes = page.map((row) => probeOf(row, entries.get(row.id)!));
    const plan = lane.watch.plan(probes, now);
    const byKey = new Map(page.map((row) => [row.id, row]));
    const fingerprints = new Map(probes.map((p) => [p.key, p.fingerprint]));
    const changes: Array<{ id: string; from: JobState; change: StateChange }> = [];
    for (const key of plan.fetch) {
      const row = byKey.get(key)!;
      const records = (await follower.island.slurm.getJob(Number(row.slurm_job_id))).filter((record) => this.isRecordOf(row, record));
      const change = records.length ? await this.observe(follower, row, records) : await this.checkMissing(follower, row);
      if (records.length) lane.watch.recorded(key, fingerprints.get(key)!, now);
      if (change) changes.push({ id: row.id, from: row.state, change });
    }
    for (const key of plan.missing) {
      const row = byKey.get(key)!;
      const change = await this.checkMissing(follower, row);
      if (change) changes.push({ id: row.id, from: row.state, change });
    }
    return changes;
  }

  /**
   * Whether the island has jobs to follow, and whether any was dispatched since the previous tick's
   * probe (those need a full listing: SLURM may have nothing newer to say about them).
   */
  private async probeUnfinished(island: string, previous: Date | undefined): Promise<{ loaded_at: Date; unfinished: boolean; fresh: boolean }> {
    const since = previous ? new Date(previous.getTime() - FRESH_MARGIN_MS) : new Date(0);
    const [probe] = await rows<{ loaded_at: Date; unfinished: boolean; fresh: boolean }>(
      this.db,
      `SELECT statement_timestamp() AS loaded_at,
              EXISTS (SELECT 1 FROM jobs WHERE island = $1 AND ended_at IS NULL AND slurm_job_id IS NOT NULL) AS unfinished,
              EXISTS (SELECT 1 FROM jobs WHERE island = $1 AND ended_at IS NULL AND slurm_job_id IS NOT NULL AND dispatched_at >= $2) AS fresh`,
      [island, since],
    );
    return probe;
  }

  /** Unfinished single jobs (or arrays) after `cursor` (by id), at most `limit`. */
  private unfinishedPage(island: string, cursor: string, limit: number, arrays: boolean): Promise<FollowedJob[]> {
    return rows<FollowedJob>(
      this.db,
      `SELECT id, parent_id, slurm_user, state, state_reason, slurm_job_id, array_size, dispatched_at, updated_at
         FROM jobs WHERE island = $1 AND ended_at IS NULL AND slurm_job_id IS NOT NULL AND id > $2
                     AND (array_size IS NOT NULL) = $4
        ORDER BY id LIMIT $3`,
      [island, cursor, limit, arrays],
    );
  }

  /** Jobs placed on the island that have not ended, including those SLURM just finished. */
  private unfinishedOn(island: string): Promise<FollowedJob[]> {
    return rows<FollowedJob>(
      this.db,
      `SELECT id, parent_id, slurm_user, state, state_reason, slurm_job_id, array_size, dispatched_at, updated_at
         FROM jobs WHERE island = $1 AND ended_at IS NULL AND slurm_job_id IS NOT NULL ORDER BY id`,
      [island],
    );
  }

  /**
   * A SLURM record is this job's only when it has the SLURM id we recorded at submit, SLURM says the
   * job's user owns it, and it carries our tag for this job with a proof that verifies for that user.
   * Nothing acts on a record that fails this: no state, no task rows, no cancel.
   */
  private isRecordOf(row: FollowedJob, record: SlurmJobRecord): boolean {
    return String(record.arrayJobId ?? record.jobId) === row.slurm_job_id && this.tagger.vouches(record.comment, record.userName, row);
  }

  /** The change SLURM's records call for (array tasks are written here, the job's state by the caller). */
  private async observe(follower: IslandFollower, row: FollowedJob, records: SlurmJobRecord[]): Promise<StateChange | undefined> {
    const observation = observeJob(row, records);
    if (observation.anomaly) this.logger.warn(`job ${row.id}: ${observation.anomaly}`);
    if (row.array_size === null && records.some((r) => r.stateReason === NEVER_SATISFIED)) {
      // SLURM keeps such a job pending forever (unless kill_invalid_depend is set); Archipelago
      // ends it, as it does for dependencies that failed before dispatch.
      await follower.island.slurm.cancel(row.slurm_user, Number(row.slurm_job_id));
      return {
        state: 'CANCELLED',
        reason: `${NEVER_SATISFIED}: a job it depends on ended in a way that can never satisfy it`,
        endedAt: new Date(),
      };
    }
    if (observation.tasks) await this.writeTasks(follower, row.id, observation.tasks);
    return observation.change;
  }

  /** Only the task rows that changed since this follower last wrote them: an unchanged held array costs nothing. */
  private async writeTasks(follower: IslandFollower, jobId: string, tasks: ArrayTasks): Promise<void> {
    const writes = taskWrites(follower.written.get(jobId), tasks);
    // Forgotten first: if a write fails, the next tick writes everything again.
    follower.written.delete(jobId);
    for (const group of writes.pending) await this.jobs.upsertPendingTasks(jobId, group.taskIds, group.fields);
    await this.jobs.upsertTasks(jobId, writes.listed);
    follower.written.set(jobId, writes.written);
  }

  /** Not in the listing: ask for it directly; SLURM forgetting an unfinished job makes it LOST, never pending. */
  private async checkMissing(follower: IslandFollower, row: FollowedJob): Promise<StateChange | undefined> {
    const age = (Date.now() - new Date(row.dispatched_at ?? row.updated_at).getTime()) / 1000;
    if (age < this.config.follow.lostAfterSeconds) return undefined;
    // Only this job's records: an island started again from scratch reuses SLURM ids.
    const records = (await follower.island.slurm.getJob(Number(row.slurm_job_id))).filter((record) => this.isRecordOf(row, record));
    if (records.length > 0) return this.observe(follower, row, records);
    return { state: 'LOST', reason: 'SLURM no longer knows this job and never reported its end', endedAt: new Date() };
  }

  private async releaseLock(follower: IslandFollower): Promise<void> {
    const lock = follower.lock;
    follower.lock = null;
    await lock?.release();
  }

  private async holdLock(follower: IslandFollower): Promise<boolean> {
    follower.lock ??= await tryLock(this.db, lockKey(follower.island.settings.connection.name));
    return follower.lock !== null;
  }
}

/** What a tick's `jobStates` answer says of one followed job, for StateWatch. */
function probeOf(row: FollowedJob, entries: SlurmJobState[]): Probe {
  if (entries.length === 0) return { key: row.id, fingerprint: null, pending: false, matchesStored: false };
  return {
    key: row.id,
    fingerprint: statesFingerprint(entries),
    pending: entries.some((e) => e.state === 'PENDING'),
    // An array's task rows are written from full records only, so an array is always read once.
    matchesStored: row.array_size === null && entries.length === 1 && sameState(entries[0].state, row.state),
  };
}

function sameState(slurmState: string, stored: JobState): boolean {
  try {
    return parseSlurmState(slurmState) === stored;
  } catch {
    return false;
  }
}
