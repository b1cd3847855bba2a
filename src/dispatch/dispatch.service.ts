import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Island, IslandsRegistry } from '../clusters/islands.registry';
import { JobRow, JobsRepository } from '../jobs/jobs.repository';
import { chooseIsland } from '../scheduling/placement';
import { SlurmRejectedError, SlurmUnavailableError } from '../slurm/slurm-client.port';
import { resolveDependencies } from './dependency-resolution';
import { DispatchRepository } from './dispatch.repository';
import { JobTagger } from './job-tag';

export type DispatchOutcome = { kind: 'done' } | { kind: 'retry'; afterMs: number; reason: string };

const DONE: DispatchOutcome = { kind: 'done' };
const DEPENDENCY_POLL_MS = 1000;
const LOAD_CACHE_MS = 1000;

/**
 * Moves one accepted job into SLURM, exactly once. The row is leased before anything else; the
 * attempt is committed before the submit call, and a job with an earlier attempt is first looked
 * for in SLURM by its tag, so a worker killed between "submitted" and "recorded" never causes a
 * second submission.
 */
@Injectable()
export class DispatchService {
  private readonly logger = new Logger(DispatchService.name);
  private load: { at: number; counts: Map<string, number> } | null = null;
  private readonly tagger: JobTagger;

  constructor(
    private readonly dispatch: DispatchRepository,
    private readonly jobs: JobsRepository,
    private readonly islands: IslandsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tagger = new JobTagger(config.instanceId);
  }

  async dispatchJob(jobId: string): Promise<DispatchOutcome> {
    const row = await this.dispatch.claim(jobId, this.config.dispatch.leaseSeconds);
    if (!row) return this.unclaimable(jobId);
    if (row.cancel_requested) {
      await this.jobs.transition(row.id, ['DISPATCHING'], { state: 'CANCELLED', reason: 'cancelled before dispatch', endedAt: new Date() });
      return DONE;
    }
    const targets = await this.jobs.findMany(row.depends_on.map(String));
    const dependencies = resolveDependencies(
      row.spec.dependency,
      targets.map((t) => ({ jobId: t.id, state: t.state, slurmJobId: t.slurm_job_id === null ? null : Number(t.slurm_job_id), island: t.island })),
    );
    if (dependencies.kind === 'wait') {
      await this.dispatch.release(row.id, `waiting for job ${dependencies.waitingFor.join(', ')} to reach SLURM`);
      return { kind: 'retry', afterMs: DEPENDENCY_POLL_MS, reason: 'dependency not dispatched yet' };
    }
    if (dependencies.kind === 'never') {
      await this.end(row, 'CANCELLED', `DependencyNeverSatisfied: ${dependencies.reason}`);
      return DONE;
    }
    const placement = chooseIsland(
      { partition: row.spec.partition, requiredIsland: dependencies.island },
      await this.candidates(),
    );
    if (placement.kind === 'unplaceable') {
      await this.end(row, 'REJECTED', `no island can run it: ${placement.rejected.map((r) => `${r.island}: ${r.reason}`).join('; ')}`);
      return DONE;
    }
    const island = this.islands.get(placement.island)!;
    const tag = this.tagger.tag(row.id, row.spec.comment);
    try {
      if (row.dispatch_attempts > 0) {
        const previous = await this.findSubmitted(row.island ? this.islands.get(row.island) ?? island : island, row.id);
        if (previous !== null) {
          this.logger.log(`job ${row.id}: found in SLURM as ${previous.slurmJobId} from an earlier attempt; not submitting again`);
          await this.afterSubmit(row, previous.island, previous.slurmJobId, row.hold);
          return DONE;
        }
      }
      await this.dispatch.markSubmitAttempt(row.id, placement.island, placement.partition);
      const submitted = await island.slurm.submit(row.slurm_user, {
        script: row.script,
        spec: { ...row.spec, partition: placement.partition, dependency: dependencies.dependency, hold: row.hold },
        workingDirectory: row.working_directory,
        environment: row.environment,
        comment: tag,
      });
      await this.afterSubmit(row, island, submitted.jobId, row.hold);
      return DONE;
    } catch (error) {
      if (error instanceof SlurmRejectedError) {
        await this.end(row, 'REJECTED', `SLURM refused the job: ${error.message}`);
        return DONE;
      }
      await this.dispatch.release(row.id, `dispatch failed, will retry: ${(error as Error).message}`);
      if (error instanceof SlurmUnavailableError) {
        return { kind: 'retry', afterMs: 2000, reason: `island ${island.settings.connection.name} unavailable` };
      }
      throw error;
    }
  }

  private async afterSubmit(row: JobRow, island: Island, slurmJobId: number, submittedHeld: boolean): Promise<void> {
    const islandName = island.settings.connection.name;
    const recorded = await this.dispatch.recordSubmitted(row.id, islandName, slurmJobId);
    if (!recorded) return;
    // Cancel or hold requests that arrived while we were submitting apply now.
    if (recorded.cancel_requested) {
      await island.slurm.cancel(recorded.slurm_user, slurmJobId);
    } else if (recorded.hold !== submittedHeld) {
      await island.slurm.setHold(recorded.slurm_user, slurmJobId, recorded.hold);
    }
  }

  private async findSubmitted(island: Island, jobId: string): Promise<{ island: Island; slurmJobId: number } | null> {
    const snapshot = await island.slurm.listJobs();
    const matches = (snapshot?.jobs ?? [])
      .filter((job) => this.tagger.jobIdFrom(job.comment) === jobId)
      .map((job) => job.arrayJobId ?? job.jobId);
    return matches.length === 0 ? null : { island, slurmJobId: Math.min(...matches) };
  }

  private async unclaimable(jobId: string): Promise<DispatchOutcome> {
    const row = await this.jobs.findById(jobId);
    if (row?.state === 'DISPATCHING' && row.slurm_job_id === null && row.dispatch_lease_until) {
      const afterMs = Math.max(100, new Date(row.dispatch_lease_until).getTime() - Date.now() + 100);
      return { kind: 'retry', afterMs, reason: 'another dispatcher holds the lease' };
    }
    return DONE;
  }

  private async end(row: JobRow, state: 'CANCELLED' | 'REJECTED', reason: string): Promise<void> {
    await this.jobs.transition(row.id, ['DISPATCHING'], { state, reason, endedAt: new Date() });
  }

  private async candidates() {
    if (!this.load || Date.now() - this.load.at > LOAD_CACHE_MS) {
      this.load = { at: Date.now(), counts: await this.dispatch.unfinishedCounts() };
    }
    const counts = this.load.counts;
    return this.islands.all().map(({ settings }) => ({
      name: settings.connection.name,
      partitions: settings.partitions,
      defaultPartition: settings.defaultPartition,
      unfinishedJobs: counts.get(settings.connection.name) ?? 0,
    }));
  }
}
