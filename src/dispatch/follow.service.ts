import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, QueryRunner } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Island, IslandsRegistry } from '../clusters/islands.registry';
import { rows } from '../db/sql';
import { JobsRepository } from '../jobs/jobs.repository';
import type { SlurmJobRecord } from '../slurm/slurm-client.port';
import { JobTagger } from './job-tag';
import { observeJob, TrackedJob } from './observation';

/** Just what following needs of a job: no script, no environment. */
interface FollowedJob extends TrackedJob {
  id: string;
  dispatched_at: Date | null;
  updated_at: Date;
}

interface IslandFollower {
  island: Island;
  since?: number;
  lock: QueryRunner | null;
  running: boolean;
  /** Not before this time: a listing that took long (a big queue) spaces out the next one. */
  notBefore: number;
}

/** A listing may use at most this share of the follower's time. */
const LISTING_DUTY_CYCLE = 0.25;

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
  private readonly followers: IslandFollower[];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly tagger: JobTagger;

  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobsRepository,
    islands: IslandsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tagger = new JobTagger(config.instanceId);
    this.followers = islands.all().map((island) => ({ island, lock: null, running: false, notBefore: 0 }));
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.stopped) return;
      Promise.allSettled(this.followers.map((f) => this.followIsland(f))).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.config.follow.intervalMs);
      });
    };
    tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled(this.followers.map((f) => f.lock?.release()));
  }

  private async followIsland(follower: IslandFollower): Promise<void> {
    if (follower.running || Date.now() < follower.notBefore) return;
    follower.running = true;
    const started = Date.now();
    const name = follower.island.settings.connection.name;
    try {
      if (!(await this.holdLock(follower))) return;
      const snapshot = await follower.island.slurm.listJobs(follower.since);
      follower.notBefore = started + (Date.now() - started) / LISTING_DUTY_CYCLE;
      if (snapshot === null) return;
      const ours = new Map<string, SlurmJobRecord[]>();
      for (const record of snapshot.jobs) {
        const id = this.tagger.jobIdFrom(record.comment);
        if (id !== null) ours.set(id, [...(ours.get(id) ?? []), record]);
      }
      const unfinished = await this.unfinishedOn(name);
      for (const row of unfinished) {
        const records = ours.get(row.id);
        if (records) await this.apply(row, records);
        else await this.checkMissing(follower.island, row);
      }
      follower.since = snapshot.asOf;
    } catch (error) {
      this.logger.warn(`following ${name} failed: ${(error as Error).message}`);
    } finally {
      follower.running = false;
    }
  }

  /** Jobs placed on the island that have not ended, including those SLURM just finished. */
  private unfinishedOn(island: string): Promise<FollowedJob[]> {
    return rows<FollowedJob>(
      this.db,
      `SELECT id, state, state_reason, slurm_job_id, array_size, dispatched_at, updated_at
         FROM jobs WHERE island = $1 AND ended_at IS NULL AND slurm_job_id IS NOT NULL ORDER BY id`,
      [island],
    );
  }

  private async apply(row: FollowedJob, records: SlurmJobRecord[]): Promise<void> {
    const observation = observeJob(row, records);
    if (observation.anomaly) this.logger.warn(`job ${row.id}: ${observation.anomaly}`);
    if (observation.tasks) await this.jobs.upsertTasks(row.id, observation.tasks);
    if (observation.change) await this.jobs.transition(row.id, [row.state], observation.change);
  }

  /** Not in the listing: ask for it directly; SLURM forgetting an unfinished job makes it LOST, never pending. */
  private async checkMissing(island: Island, row: FollowedJob): Promise<void> {
    const age = (Date.now() - new Date(row.dispatched_at ?? row.updated_at).getTime()) / 1000;
    if (age < this.config.follow.lostAfterSeconds) return;
    const records = await island.slurm.getJob(Number(row.slurm_job_id));
    if (records.length > 0) return this.apply(row, records);
    await this.jobs.transition(row.id, [row.state], {
      state: 'LOST',
      reason: 'SLURM no longer knows this job and never reported its end',
      endedAt: new Date(),
    });
  }

  private async holdLock(follower: IslandFollower): Promise<boolean> {
    if (follower.lock) return true;
    const runner = this.db.createQueryRunner();
    await runner.connect();
    const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
      lockKey(follower.island.settings.connection.name),
    ]);
    if (!locked) {
      await runner.release();
      return false;
    }
    follower.lock = runner;
    return true;
  }
}
