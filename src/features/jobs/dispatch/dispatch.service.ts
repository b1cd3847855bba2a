import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { Island } from '../../../adapters/slurm/island-directory';
import { JobRow } from '../../../core/jobs/job-rows';
import { CapacityService } from '../scheduling/capacity.service';
import { Placer, type ArrayPart } from '../../../core/placement/index';
import { SlurmUnavailableError } from '../../../core/slurm/slurm-client.port';
import { classifySubmissionFailure, gaveUpReason, nextSubmitRetry, type SubmissionFailure } from '../../../core/dispatch/submission-failure';
import { Metrics } from '../../../adapters/metrics/metrics';
import { DependencySpec, type JobSpec } from '../../../core/sbatch/job-spec';
import { resolveDependencies } from '../../../core/dispatch/dependency-resolution';
import { DispatchActivity } from './dispatch-activity';
import { submitAll } from '../../../core/dispatch/submit-all';
import { ClaimedJob, JobsRepository, RecordedJob, Submitted } from '../jobs.repository';
import { JobTagger } from '../../../core/dispatch/job-tag';
import { partSpec } from '../../../core/jobs/split-array';
import { archipelagoOutputPattern, pinArrayJobId } from '../../../core/jobs/output-path';
import { decidePlacement, type PlacementRecord } from '../../../core/dispatch/placement-decision';
import { membershipWaitReason, tierWaitReason, waitsForMembership } from '../../../core/dispatch/membership-wait';
import { SubmitAdmission } from '../../../core/dispatch/submit-admission';
import type { CapacityView } from '../../../core/placement/capacity-source';
import { ISLAND_MEMBERSHIP, type IslandMembership } from '../../../core/islands/island-membership';
import { ISLAND_DIRECTORY, type IslandDirectory } from '../../../adapters/slurm/island-directory';
import { tightestBoundMs } from '../../../core/placement/placement-options';

/** What a batch left to do later: jobs to retry after a delay. */
export interface DispatchOutcome {
  retry: Array<{ jobIds: string[]; afterMs: number }>;
}

/** A submission that failed for a transient reason (see submission-failure.ts). */
interface Unavailable {
  kind: 'unavailable';
  jobId: string;
  /** Submissions made for this job so far, this one included. */
  attempts: number;
  failure: Extract<SubmissionFailure, { kind: 'transient' }>;
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
/** How often a job waiting for islands' membership to settle is placed again. */
const MEMBERSHIP_RETRY_MS = 5000;
const RETRY_AFTER_LEASE_MS = 250;
/** Lease time a claim keeps beyond a submission's settle time, for placement and look-ups before the call. */
const CLAIM_TO_SUBMIT_SLACK_SECONDS = 10;

/** The --output pattern a job gets when its submitter named none (null when they did). */
function defaultOutputOf(row: ClaimedJob): string | null {
  return row.spec.output === undefined ? archipelagoOutputPattern(row.parent_id ?? row.id, row.array_size !== null) : null;
}

/**
 * The file patterns a job is sent with: its own (or the default output), and for a part of an
 * array split across islands `%A` pinned to the whole array's Archipelago id, so every task of it
 * writes under one `%A` as under one sbatch (the output endpoint reads them the same way).
 */
function filePatternsOf(row: ClaimedJob, defaultOutput: string | null): Pick<JobSpec, 'output' | 'error' | 'input'> {
  const output = defaultOutput ?? row.spec.output;
  if (row.parent_id === null || !row.spec.array) return { output, error: row.spec.error, input: row.spec.input };
  const pin = (pattern: string | undefined) => (pattern === undefined ? undefined : pinArrayJobId(pattern, Number(row.parent_id)));
  return { output: pin(output), error: pin(row.spec.error), input: pin(row.spec.input) };
}

/** How long a submission to this island may still create a job after the call started (0: not known). */
function settleMsOf(island: Island): number {
  return island.slurm.submitSettleMs();
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
    private readonly jobs: JobsRepository,
    @Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory,
    private readonly activity: DispatchActivity,
    private readonly capacity: CapacityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(ISLAND_MEMBERSHIP) private readonly membership: IslandMembership,
  ) {
    this.tagger = new JobTagger(config.instanceId, config.tagKey.key, config.tagKey.createdAt);
  }

  async dispatchBatch(jobIds: string[]): Promise<DispatchOutcome> {
    const claimed = await this.jobs.claim(jobIds, this.leaseSeconds());
    const outcome: DispatchOutcome = { retry: [] };
    if (claimed.length === 0) return outcome;
    const recovered = await this.recoverEarlierAttempts(claimed.filter((row) => row.previous_attempts > 0));
    const exhausted = await this.endExhausted(claimed.filter((row) => !recovered.has(row.id)));
    const ready = await this.prepare(
      claimed.filter((row) => !recovered.has(row.id) && !exhausted.has(row.id)),
      outcome,
    );
    const results = await submitAll(
      ready,
      this.config.dispatch.concurrency,
      (job) => ({ jobId: job.row.id, island: job.island.settings.connection.name }),
      (job) => this.submit(job),
    );
    const submitted = [...recovered.values(), ...results.flatMap((r) => (r.kind === 'submitted' ? [r.submitted] : []))];
    const unsubmitted = results.flatMap((r) => (r.kind === 'no-time-left' ? [r.jobId] : []));
    if (unsubmitted.length > 0) {
      await this.jobs.release(unsubmitted, null, false);
      outcome.retry.push({ jobIds: unsubmitted, afterMs: 0 });
    }
    const skipped = results.flatMap((r) => (r.kind === 'skipped' ? [r.jobId] : []));
    if (skipped.length > 0) {
      await this.jobs.release(skipped, 'an island was unreachable; will retry', false);
      outcome.retry.push({ jobIds: skipped, afterMs: UNAVAILABLE_RETRY_MS });
    }
    const unavailable = results.flatMap((r) => (r.kind === 'unavailable' ? [r] : []));
    await this.releaseForRetry(unavailable, outcome);
    const recorded = await this.jobs.recordSubmitted(submitted);
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
    let view: CapacityView | null = null;
    /** Whether a rejected job could run once islands re-form (built on the first rejection of the batch). */
    let reformable: SubmitAdmission | null = null;
    let unknownIslands: string[] = [];
    let noIslands = false;
    const ready: ReadyJob[] = [];
    const waiting: string[] = [];
    const unreachable: string[] = [];
    /** Jobs no island fits while islands' membership changes, by the reason they wait. */
    const settling = new Map<string, string[]>();
    let changing: boolean | undefined;
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
        view = await this.capacity.view();
        placer = new Placer(view.snapshot, { tightBoundMs: tightestBoundMs(this.config.topology.tiers) });
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
        changing ??= (await this.membership.changing()) || (await this.islands.transitioning());
        // With a launcher, islands re-form as latency changes: a job refused only by today's tiers
        // waits like one refused while membership changes (the submit check judges it the same way).
        const tiersMayChange =
          !changing &&
          this.config.topology.launcher !== 'none' &&
          !(reformable ??= new SubmitAdmission(view!.snapshot, view!.unknown, {
            tightBoundMs: tightestBoundMs(this.config.topology.tiers),
            formable: true,
          })).neverRunnable(row.spec, row.constraints, new Date());
        if (waitsForMembership(changing || tiersMayChange, row.submitted_at, new Date(), this.config.dispatch.membershipWaitSeconds)) {
          const reason = changing ? membershipWaitReason(placement.reason) : tierWaitReason(placement.reason);
          settling.set(reason, [...(settling.get(reason) ?? []), row.id]);
          continue;
        }
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
      await this.jobs.release(waiting, 'waiting for the jobs it depends on to reach SLURM', false);
      outcome.retry.push({ jobIds: waiting, afterMs: DEPENDENCY_POLL_MS });
    }
    if (unreachable.length > 0) {
      await this.jobs.release(unreachable, 'an island was unreachable; will retry', false);
      outcome.retry.push({ jobIds: unreachable, afterMs: UNAVAILABLE_RETRY_MS });
    }
    for (const [reason, jobIds] of settling) {
      this.metrics.dispatchOutcomes.inc({ outcome: 'deferred' }, jobIds.length);
      await this.jobs.release(jobIds, reason, false);
      outcome.retry.push({ jobIds, afterMs: MEMBERSHIP_RETRY_MS });
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

  private async submit(
    job: ReadyJob,
  ): Promise<{ kind: 'submitted'; submitted: Submitted } | Unavailable | { kind: 'no-time-left'; jobId: string } | { kind: 'ended' }> {
    const { row, island, partition } = job;
    // Once our lease ends another dispatcher may look the job up and submit it: a submission of
    // ours must be unable to land by then, so it is only made while the lease outlasts its settling.
    const settleMs = settleMsOf(island);
    if (settleMs > 0 && row.dispatch_lease_until && Date.now() + settleMs > new Date(row.dispatch_lease_until).getTime()) {
      return { kind: 'no-time-left', jobId: row.id };
    }
    const defaultOutput = defaultOutputOf(row);
    try {
      this.activity.submitted(island.settings.connection.name);
      const result = await island.slurm.submit(row.slurm_user, {
        script: row.script,
        spec: { ...row.spec, ...filePatternsOf(row, defaultOutput), partition, dependency: job.dependency, hold: row.hold },
        workingDirectory: row.working_directory,
        environment: row.environment,
        comment: this.tagger.tag(row.id, row.dispatch_attempts, row.slurm_user, row.spec.comment),
      });
      return {
        kind: 'submitted',
        submitted: { jobId: row.id, island: island.settings.connection.name, partition, slurmJobId: result.jobId, placement: job.placement, defaultOutput },
      };
    } catch (error) {
      const failure = classifySubmissionFailure(error);
      if (failure.kind === 'rejected') {
        await this.end(row, 'REJECTED', failure.reason);
        return { kind: 'ended' };
      }
      if (failure.kind === 'impossible') {
        this.logger.warn(`job ${row.id} can never be submitted to ${island.settings.connection.name}: ${failure.reason}`);
        await this.end(row, 'FAILED', failure.reason);
        return { kind: 'ended' };
      }
      if (!(error instanceof SlurmUnavailableError)) this.logger.error(`submitting job ${row.id}: ${(error as Error).stack}`);
      return { kind: 'unavailable', jobId: row.id, attempts: row.previous_attempts + 1, failure };
    }
  }

  /**
   * Jobs whose submission failed for a transient reason go back with a lease that keeps them
   * unclaimable until their next try (exponential backoff) and until a submission that may still
   * reach SLURM no longer can; the queue entry comes back at that time. The reason says when.
   */
  private async releaseForRetry(unavailable: Unavailable[], outcome: DispatchOutcome): Promise<void> {
    const groups = new Map<string, { jobIds: string[]; reason: string; untilMs: number }>();
    const now = Date.now();
    for (const { jobId, attempts, failure } of unavailable) {
      const next = nextSubmitRetry(attempts, this.config.dispatch.retry);
      // The last attempt failed: the next claim looks the job up in SLURM once more, then gives up.
      const backoffMs = next.retry ? next.afterMs : 0;
      const untilMs = Math.max(now + backoffMs, failure.settlesAt ?? 0);
      const what = failure.unreachable ? 'an island was unreachable' : 'submission failed';
      const when = next.retry ? `will retry in ${Math.ceil(backoffMs / 1000)} s` : 'no attempts left';
      const reason = `${what}; ${when} (attempt ${attempts} of ${this.config.dispatch.retry.maxAttempts}): ${failure.reason}`;
      const key = `${untilMs}|${reason}`;
      const group = groups.get(key) ?? { jobIds: [], reason, untilMs };
      group.jobIds.push(jobId);
      groups.set(key, group);
    }
    for (const { jobIds, reason, untilMs } of groups.values()) {
      await this.jobs.release(jobIds, reason, true, new Date(untilMs));
      // A little after the lease ends, so the claim finds it over.
      outcome.retry.push({ jobIds, afterMs: untilMs - now + RETRY_AFTER_LEASE_MS });
    }
  }

  /** Jobs that used every submission attempt and are not in SLURM after all: they end FAILED with the last reason. */
  private async endExhausted(rows: ClaimedJob[]): Promise<Set<string>> {
    const exhausted = rows.filter((row) => row.previous_attempts >= this.config.dispatch.retry.maxAttempts);
    for (const row of exhausted) await this.end(row, 'FAILED', gaveUpReason(row.previous_attempts, row.state_reason));
    return new Set(exhausted.map((row) => row.id));
  }

  /**
   * Jobs an earlier (crashed or timed-out) attempt may already have put into SLURM: one listing
   * per island answers for the whole batch. Found ones are recorded instead of submitted again.
   * No SLURM id was recorded for them, so only the tag can say which SLURM job is theirs: a
   * candidate counts only when its owner is the job's user and its tag's mac verifies for an earlier
   * attempt (a tag copied into someone else's job, or made up, adopts nothing).
   */
  private async recoverEarlierAttempts(rows: ClaimedJob[]): Promise<Map<string, Submitted>> {
    const found = new Map<string, Submitted>();
    if (rows.length === 0) return found;
    const wanted = new Map(rows.map((row) => [row.id, row]));
    for (const island of this.islands.all()) {
      const snapshot = await island.slurm.listJobs();
      for (const record of snapshot?.jobs ?? []) {
        const jobId = this.tagger.jobIdFrom(record.comment);
        const row = jobId === null ? undefined : wanted.get(jobId);
        if (!row || !this.tagger.vouchesForEarlierAttempt(record.comment, record.userName, row, row.dispatch_attempts)) continue;
        const slurmJobId = record.arrayJobId ?? record.jobId;
        const previous = found.get(row.id);
        if (previous && previous.slurmJobId <= slurmJobId) continue;
        found.set(row.id, {
          jobId: row.id,
          island: island.settings.connection.name,
          partition: record.partition,
          slurmJobId,
          placement: null,
          // The earlier attempt was made by this version, which names output files the same way.
          defaultOutput: defaultOutputOf(row),
        });
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
    const ids = await this.jobs.split(row.id, plan, `split into ${parts.length} parts: ${where}`, placement);
    this.logger.log(`job ${row.id}: array split across ${where}`);
    this.metrics.dispatchOutcomes.inc({ outcome: 'split' });
    return ids;
  }

  private async end(
    row: Pick<JobRow, 'id' | 'parent_id'>,
    state: 'CANCELLED' | 'REJECTED' | 'FAILED',
    reason: string,
    placement?: PlacementRecord,
  ): Promise<void> {
    await this.jobs.transition(row.id, 'DISPATCHING', { state, reason, endedAt: new Date(), placement });
    if (row.parent_id !== null) await this.jobs.refreshSplitParents([row.parent_id]);
    this.metrics.dispatchOutcomes.inc({ outcome: state.toLowerCase() });
  }
}
