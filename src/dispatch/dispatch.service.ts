import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Island, IslandsRegistry } from '../clusters/islands.registry';
import { JobRow, JobsRepository } from '../jobs/jobs.repository';
import { CapacityService } from '../scheduling/capacity.service';
import { Placer, type ArrayPart } from '../scheduling';
import { SlurmRejectedError, SlurmUnavailableError } from '../slurm/slurm-client.port';
import { submitSettleMs } from '../slurm/rest/rest-slurm-client';
import { Metrics } from '../metrics/metrics';
import { DependencySpec } from '../sbatch/job-spec';
import { resolveDependencies } from './dependency-resolution';
import { DispatchActivity } from './dispatch-activity';
import { submitAll } from './submit-all';
import { ClaimedJob, DispatchRepository, RecordedJob, Submitted } from './dispatch.repository';
import { JobTagger } from './job-tag';
import { partSpec } from '../jobs/split-array';
import { decidePlacement, type PlacementRecord } from './placement-decision';

/** What a batch left to do later: jobs to retry after a delay. */
export interface DispatchOutcome {
  retry: Array<{ jobIds: string[]; afterMs: number }>;
}

interface ReadyJob {
  row: ClaimedJob;
  island: Island;
  partition: string;
  placement: PlacementRecord;
  dependency?: DependencySpec;
}

const DEPENDENCY_POLL_MS = 1000;
const UNAVAILABLE_RETRY_MS = 2000;
/** Lease time a claim keeps beyond a submission's settle time, for placement and look-ups before the call. */
const CLAIM_TO_SUBMIT_SLACK_SECONDS = 10;

/** How long a submission to this island may still create a job after the call started (0: not known). */
function settleMsOf(island: Island): number {
  const { adapter, rest } = island.settings.connection;
  return adapter === 'rest' && rest ? submitSettleMs(rest) : 0;
}

/**
 * Moves accepted jobs into SLURM, exactly once, a batch at a time: one statement claims the
 * batch (leasing each row and counting a submit attempt before any SLURM call), submissions run
 * in parallel within each island's connection limit, one statement records the SLURM ids. A job
 * whose claim shows an earlier attempt is first looked for in SLURM by its tag, so a worker
 * killed between "submitted" and "recorded" never causes a second submission.
 */
@Injectable()
export class DispatchService {
  private readonly logger = new Logger(DispatchService.name);
  private readonly tagger: JobTagger;

  constructor(
    private readonly dispatch: DispatchRepository,
    private readonly jobs: JobsRepository,
    private readonly islands: IslandsRegistry,
    private readonly activity: DispatchActivity,
    private readonly capacity: CapacityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.tagger = new JobTagger(config.instanceId);
  }

  async dispatchBatch(jobIds: string[]): Promise<DispatchOutcome> {
    const claimed = await this.dispatch.claim(jobIds, this.leaseSeconds());
    const outcome: DispatchOutcome = { retry: [] };
    if (claimed.length === 0) return outcome;
    const recovered = await this.recoverEarlierAttempts(claimed.filter((row) => row.previous_attempts > 0));
    const ready = await this.prepare(claimed.filter((row) => !recovered.has(row.id)), outcome);
    const results = await submitAll(
      ready,
      this.config.dispatch.concurrency,
      (job) => ({ jobId: job.row.id, island: job.island.settings.connection.name }),
      (job) => this.submit(job),
    );
    const submitted = [...recovered.values(), ...results.flatMap((r) => (r.kind === 'submitted' ? [r.submitted] : []))];
    const unsubmitted = results.flatMap((r) => (r.kind === 'no-time-left' ? [r.jobId] : []));
    if (unsubmitted.length > 0) {
      await this.dispatch.release(unsubmitted, null, false);
      outcome.retry.push({ jobIds: unsubmitted, afterMs: 0 });
    }
    const skipped = results.flatMap((r) => (r.kind === 'skipped' ? [r.jobId] : []));
    if (skipped.length > 0) {
      await this.dispatch.release(skipped, 'an island was unreachable; will retry', false);
      outcome.retry.push({ jobIds: skipped, afterMs: UNAVAILABLE_RETRY_MS });
    }
    const unavailable = results.flatMap((r) => (r.kind === 'unavailable' ? [r.jobId] : []));
    if (unavailable.length > 0) {
      // A submission that may still reach SLURM keeps its jobs leased until it no longer can:
      // no retry and no reconciler touches them before then, so the retry's look-up is final.
      const settlesAt = Math.max(0, ...results.flatMap((r) => (r.kind === 'unavailable' && r.settlesAt ? [r.settlesAt] : [])));
      const leasedUntil = settlesAt > Date.now() ? new Date(settlesAt) : undefined;
      await this.dispatch.release(unavailable, 'an island was unreachable; will retry', true, leasedUntil);
      outcome.retry.push({ jobIds: unavailable, afterMs: Math.max(UNAVAILABLE_RETRY_MS, settlesAt - Date.now()) });
    }
    const recorded = await this.dispatch.recordSubmitted(submitted);
    this.observe(claimed, recorded, recovered.size, unavailable.length + skipped.length);
    await this.applyLateRequests(recorded, claimed);
    return outcome;
  }

  /** Dispatch latency (accepted → recorded with its SLURM id) per island, and batch outcomes. */
  private observe(claimed: ClaimedJob[], recorded: RecordedJob[], recovered: number, unavailable: number): void {
    const acceptedAt = new Map(claimed.map((row) => [row.id, new Date(row.submitted_at).getTime()]));
    const now = Date.now();
    for (const row of recorded) {
      this.metrics.dispatchLatency.observe({ island: row.island ?? '' }, (now - (acceptedAt.get(row.id) ?? now)) / 1000);
    }
    this.metrics.dispatchOutcomes.inc({ outcome: 'recovered' }, recovered);
    this.metrics.dispatchOutcomes.inc({ outcome: 'submitted' }, Math.max(0, recorded.length - recovered));
    this.metrics.dispatchOutcomes.inc({ outcome: 'retry' }, unavailable);
  }

  /** Cancellations, dependencies and placement: which claimed jobs go to SLURM now, and where. */
  private async prepare(claimed: ClaimedJob[], outcome: DispatchOutcome): Promise<ReadyJob[]> {
    const targetIds = [...new Set(claimed.flatMap((row) => row.depends_on.map(String)))];
    const targets = new Map((await this.jobs.findMany(targetIds)).map((t) => [t.id, t]));
    let placer: Placer | null = null;
    let unknownIslands: string[] = [];
    let noIslands = false;
    const ready: ReadyJob[] = [];
    const waiting: string[] = [];
    const unreachable: string[] = [];
    for (const row of claimed) {
      if (row.cancel_requested) {
        await this.end(row, 'CANCELLED', 'cancelled before dispatch');
        continue;
      }
      const dependencies = resolveDependencies(
        row.spec.dependency,
        row.depends_on.map(String).flatMap((id) => {
          const t = targets.get(id);
          return t ? [{ jobId: t.id, state: t.state, slurmJobId: t.slurm_job_id === null ? null : Number(t.slurm_job_id), island: t.island }] : [];
        }),
      );
      if (dependencies.kind === 'wait') {
        waiting.push(row.id);
        continue;
      }
      if (dependencies.kind === 'never') {
        await this.end(row, 'CANCELLED', `DependencyNeverSatisfied: ${dependencies.reason}`);
        continue;
      }
      if (!placer) {
        // One capacity view per batch; the placer reserves what each job takes for the next.
        const view = await this.capacity.view();
        // Multi-node jobs need the tightest configured tier (MPI); loose islands take the rest.
        placer = new Placer(view.snapshot, { tightBoundMs: Math.min(...this.config.topology.tiers.map((t) => t.boundMs)) });
        unknownIslands = view.unknown;
        noIslands = view.snapshot.islands.length === 0;
      }
      if (noIslands) {
        // Islands formed from latency may not be launched yet: nothing to decide on, so nothing is rejected.
        unreachable.push(row.id);
        continue;
      }
      // Parts of a split array are pinned to their island and never split again.
      const placement = decidePlacement(placer, row.spec, row.constraints, dependencies.island, unknownIslands, new Date(), row.parent_id === null);
      if (placement.kind === 'retry') {
        this.logger.warn(`job ${row.id}: ${placement.reason}`);
        unreachable.push(row.id);
        continue;
      }
      if (placement.kind === 'rejected') {
        await this.end(row, 'REJECTED', placement.reason, placement.record);
        continue;
      }
      if (placement.kind === 'split') {
        const parts = await this.split(row, placement.parts, placement.record);
        if (parts.length > 0) outcome.retry.push({ jobIds: parts, afterMs: 0 });
        continue;
      }
      ready.push({
        row,
        island: this.islands.get(placement.island)!,
        partition: placement.partition,
        placement: placement.record,
        dependency: dependencies.dependency,
      });
    }
    this.metrics.dispatchOutcomes.inc({ outcome: 'deferred' }, waiting.length);
    this.metrics.dispatchOutcomes.inc({ outcome: 'retry' }, unreachable.length);
    if (waiting.length > 0) {
      await this.dispatch.release(waiting, 'waiting for the jobs it depends on to reach SLURM', false);
      outcome.retry.push({ jobIds: waiting, afterMs: DEPENDENCY_POLL_MS });
    }
    if (unreachable.length > 0) {
      await this.dispatch.release(unreachable, 'an island was unreachable; will retry', false);
      outcome.retry.push({ jobIds: unreachable, afterMs: UNAVAILABLE_RETRY_MS });
    }
    return ready;
  }

  /**
   * A claim outlives any submission made under it (see submit): the configured lease, or longer
   * when an island's submissions take longer to settle.
   */
  private leaseSeconds(): number {
    const settleMs = Math.max(0, ...this.islands.all().map(settleMsOf));
    return Math.max(this.config.dispatch.leaseSeconds, settleMs > 0 ? Math.ceil(settleMs / 1000) + CLAIM_TO_SUBMIT_SLACK_SECONDS : 0);
  }

  private async submit(job: ReadyJob): Promise<
    | { kind: 'submitted'; submitted: Submitted }
    | { kind: 'unavailable'; jobId: string; settlesAt?: number }
    | { kind: 'no-time-left'; jobId: string }
    | { kind: 'rejected' }
  > {
    const { row, island, partition } = job;
    // Once our lease ends another dispatcher may look the job up and submit it: a submission of
    // ours must be unable to land by then, so it is only made while the lease outlasts its settling.
    const settleMs = settleMsOf(island);
    if (settleMs > 0 && row.dispatch_lease_until && Date.now() + settleMs > new Date(row.dispatch_lease_until).getTime()) {
      return { kind: 'no-time-left', jobId: row.id };
    }
    try {
      this.activity.submitted(island.settings.connection.name);
      const result = await island.slurm.submit(row.slurm_user, {
        script: row.script,
        spec: { ...row.spec, partition, dependency: job.dependency, hold: row.hold },
        workingDirectory: row.working_directory,
        environment: row.environment,
        comment: this.tagger.tag(row.id, row.spec.comment),
      });
      return {
        kind: 'submitted',
        submitted: { jobId: row.id, island: island.settings.connection.name, partition, slurmJobId: result.jobId, placement: job.placement },
      };
    } catch (error) {
      if (error instanceof SlurmRejectedError) {
        await this.end(row, 'REJECTED', `SLURM refused the job: ${error.message}`);
        return { kind: 'rejected' };
      }
      if (!(error instanceof SlurmUnavailableError)) this.logger.error(`submitting job ${row.id}: ${(error as Error).stack}`);
      return { kind: 'unavailable', jobId: row.id, settlesAt: error instanceof SlurmUnavailableError ? error.settlesAt : undefined };
    }
  }

  /**
   * Jobs an earlier (crashed or timed-out) attempt may already have put into SLURM: one listing
   * per island answers for the whole batch. Found ones are recorded instead of submitted again.
   */
  private async recoverEarlierAttempts(rows: ClaimedJob[]): Promise<Map<string, Submitted>> {
    const found = new Map<string, Submitted>();
    if (rows.length === 0) return found;
    const wanted = new Set(rows.map((row) => row.id));
    for (const island of this.islands.all()) {
      const snapshot = await island.slurm.listJobs();
      for (const record of snapshot?.jobs ?? []) {
        const jobId = this.tagger.jobIdFrom(record.comment);
        if (jobId === null || !wanted.has(jobId)) continue;
        const slurmJobId = record.arrayJobId ?? record.jobId;
        const previous = found.get(jobId);
        if (previous && previous.slurmJobId <= slurmJobId) continue;
        found.set(jobId, { jobId, island: island.settings.connection.name, partition: record.partition, slurmJobId, placement: null });
      }
    }
    if (found.size > 0) this.logger.log(`found ${found.size} job(s) already in SLURM from earlier attempts; not submitting them again`);
    return found;
  }

  /** Cancel or hold requests that arrived while we were submitting apply now. */
  private async applyLateRequests(recorded: RecordedJob[], claimed: ClaimedJob[]): Promise<void> {
    const heldAtClaim = new Map(claimed.map((row) => [row.id, row.hold]));
    await Promise.all(
      recorded.map(async (row) => {
        const island = this.islands.get(row.island!);
        if (!island) return;
        const slurmJobId = Number(row.slurm_job_id);
        if (row.cancel_requested) await island.slurm.cancel(row.slurm_user, slurmJobId);
        else if (row.hold !== heldAtClaim.get(row.id)) await island.slurm.setHold(row.slurm_user, slurmJobId, row.hold);
      }),
    );
  }

  /** Turns the array into parts, one per island, each a hidden job of its own dispatched next. */
  private async split(row: ClaimedJob, parts: ArrayPart[], placement: PlacementRecord): Promise<string[]> {
    const plan = parts.map((part, k) => ({
      part: k,
      spec: partSpec(row.spec, part),
      partition: part.partition,
      size: part.taskIds.length,
      constraints: { ...row.constraints, islands: [part.island] },
    }));
    const where = parts.map((p) => `${p.island} (tasks ${p.expression})`).join(', ');
    const ids = await this.dispatch.split(row.id, plan, `split into ${parts.length} parts: ${where}`, placement);
    this.logger.log(`job ${row.id}: array split across ${where}`);
    this.metrics.dispatchOutcomes.inc({ outcome: 'split' });
    return ids;
  }

  private async end(row: JobRow, state: 'CANCELLED' | 'REJECTED', reason: string, placement?: PlacementRecord): Promise<void> {
    await this.jobs.transition(row.id, 'DISPATCHING', { state, reason, endedAt: new Date(), placement });
    if (row.parent_id !== null) await this.jobs.refreshSplitParents([row.parent_id]);
    this.metrics.dispatchOutcomes.inc({ outcome: state === 'REJECTED' ? 'rejected' : 'cancelled' });
  }
}
