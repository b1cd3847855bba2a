import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import type { Principal } from '../../core/auth/principal';
import { principalActor } from '../../core/audit/audit-trail';
import { canonicalJson } from '../../core/common/canonical-json';
import { conflict, invalid, notFound, Problem, unavailable, unprocessable } from '../../core/common/problem';
import { unmappedWalletRemedy } from '../../core/identity/remedies';
import { logStateChanges } from './job-state-log';
import { DispatchQueue } from './dispatch/dispatch.queue';
import { SlurmRejectedError, SlurmUnavailableError } from '../../core/slurm/slurm-client.port';
import { type ByteRange, JobFileAccessError, type JobFiles, JobFileUnavailableError } from '../../core/slurm/job-files.port';
import type { OutputSelection } from '../../core/jobs/byte-range';
import { readOutput } from '../../core/jobs/output-reading';
import { serviceAccountRefusal } from '../../core/slurm/posix-user';
import type { PlacementRecord } from '../../core/dispatch/placement-decision';
import { normalizeSubmission, type NormalizedJob, SubmitInput } from '../../core/jobs/job-request';
import type { MfaProof } from '../../core/identity/mfa-proof';
import { jobGateFacts } from '../../core/identity/job-gate-facts';
import { submissionActions } from '../../core/identity/veid-policy';
import { arrayTaskLine, jobView, taskView } from '../../core/jobs/job-view';
import { JobsRepository } from './jobs.repository';
import { JobRow } from '../../core/jobs/job-rows';
import { isTerminal, JobState } from '../../core/jobs/lifecycle';
import { outputFiles } from '../../core/jobs/output-path';
import { mapLimit } from '../../core/common/map-limit';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';
import { ISLAND_DIRECTORY, type Island, type IslandDirectory } from '../../adapters/slurm/island-directory';
import { STEP_UP_GATE, type StepUpGate } from '../../core/identity/gates';
import { IDENTITY_TIER_GATE, type IdentityTierGate } from '../../core/identity/gates';
import { JOB_BUDGET, type JobBudget } from '../../core/usage/job-budget';
import { SubmitAdmission } from '../../core/dispatch/submit-admission';
import { CAPACITY_SOURCE, type CapacitySource, type CapacityView } from '../../core/placement/capacity-source';
import { tightestBoundMs } from '../../core/placement/placement-options';

export interface OutputRequest {
  stream: 'stdout' | 'stderr';
  taskId?: number;
  selection: OutputSelection;
}

const NOT_YET_IN_SLURM: JobState[] = ['ACCEPTED', 'DISPATCHING'];

@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);
  /** The admission of the current capacity view, rebuilt when the view changes. */
  private admission: { view: CapacityView; admission: SubmitAdmission } | null = null;

  constructor(
    private readonly jobs: JobsRepository,
    @Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory,
    private readonly queue: DispatchQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(JOB_BUDGET) private readonly budgets: JobBudget,
    @Inject(IDENTITY_TIER_GATE) private readonly veid: IdentityTierGate,
    @Inject(STEP_UP_GATE) private readonly mfa: StepUpGate,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
    @Inject(CAPACITY_SOURCE) private readonly capacity: CapacitySource,
  ) {}

  /** The submission as it would be accepted (sbatch semantics), or the 4xx that explains why not. */
  normalize(principal: Principal, input: SubmitInput): NormalizedJob {
    const slurmUser = this.runAs(principal);
    if (this.islands.all().length === 0) throw unavailable('no island is configured to run jobs');
    return normalizeSubmission(input, {
      slurmUser,
      workdirRoots: this.islands.workdirRoots(),
      defaultEnvironment: this.config.jobs.defaultEnvironment,
      maxScriptBytes: this.config.jobs.maxScriptBytes,
      partitions: this.islands.partitions(),
    });
  }

  /**
   * `options.afterInsert` runs in the transaction that creates the job (e.g. chain ingress links
   * the chain's job to it there, so a crash never leaves one without the other).
   */
  /** What the submission may cost (everything it asks for, its whole time limit) and the caller's budget. */
  async estimate(principal: Principal, input: SubmitInput) {
    const { estimate, denom, basis } = this.budgets.estimate(this.normalize(principal, input).spec);
    return { estimate: estimate.toString(), denom, pricing: 'archipelago.pricing/v1', basis, budget: await this.budgets.state(principal.id) };
  }

  async submit(
    principal: Principal,
    input: SubmitInput,
    idempotencyKey: string | null,
    mfa: MfaProof,
    options: { afterInsert?: (row: JobRow) => Promise<void> } = {},
  ) {
    const job = this.normalize(principal, input);
    const slurmUser = this.runAs(principal);
    const known = await this.jobs.findManyOwned(principal.id, job.dependsOn);
    const missing = job.dependsOn.filter((id) => !known.some((row) => Number(row.id) === id));
    if (missing.length > 0) throw invalid('--dependency', await this.unknownDependencies(principal, missing));
    const requestHash = createHash('sha256').update(canonicalJson(input)).digest();
    // Who may ask comes first (the VEID tier); a job no island can ever run is refused before a
    // single-use MFA session is spent on it.
    const facts = jobGateFacts(job.spec);
    await this.veid.require(principal, submissionActions(facts), facts.partitions);
    await this.refuseIfNeverRunnable(principal, job, idempotencyKey);
    if (facts.nodeHours > this.config.identity.mfa.highValueNodeHours) {
      await this.mfa.require(principal, 'high_value_job', mfa, idempotencyKey ? `${idempotencyKey}:${requestHash.toString('hex')}` : null);
    }

    await this.budgets.admit(principal.id, job.spec, idempotencyKey);
    const { row, created } = await this.jobs.insert(principal.id, slurmUser, job, idempotencyKey, requestHash, job.spec.hold === true, options.afterInsert);
    if (!created && !row.request_hash.equals(requestHash)) {
      throw conflict('this Idempotency-Key was already used with a different request', 'Idempotency-Key');
    }
    if (created) {
      logStateChanges([{ job_id: row.id, from_state: null, to_state: row.state, reason: 'submitted' }]);
      this.queue.enqueueSoon(row.id);
    }
    return { job: jobView(row), replayed: !created };
  }

  /**
   * Why dependency ids are unknown. A bare number is most often a SLURM job id copied from an
   * island (squeue, an earlier sbatch there): say that ids are Archipelago's, and which of the
   * caller's jobs a SLURM id belongs to when it is one of theirs.
   */
  private async unknownDependencies(principal: Principal, missing: number[]): Promise<string> {
    const bySlurmId = await this.jobs.findOwnedBySlurmIds(principal.id, missing);
    const hints = bySlurmId.map((row) => `SLURM job ${row.slurm_job_id} on ${row.island} is Archipelago job ${row.id}`);
    return (
      `no job ${missing.join(', ')} of yours exists: --dependency takes Archipelago job ids (as "Submitted batch job N" printed), ` +
      `not the SLURM job ids of an island, which differ from island to island` +
      (hints.length > 0 ? ` (${hints.join('; ')})` : '')
    );
  }

  /**
   * 422 with the placement's explanation for a job no island could ever run (as sbatch refuses
   * one at once), instead of accepting it and rejecting it at dispatch. A retry of a request that
   * was accepted earlier (same Idempotency-Key) is not judged again: it gets its job back.
   */
  private async refuseIfNeverRunnable(principal: Principal, job: NormalizedJob, idempotencyKey: string | null): Promise<void> {
    // Admitting never waits on SLURM once a view exists (a slow island must not slow submissions);
    // refusing is rare and is only ever decided on a current view.
    if (!this.neverRunnableOn(await this.capacity.recent(), job)) return;
    const verdict = this.neverRunnableOn(await this.capacity.view(), job);
    if (!verdict) return;
    if (idempotencyKey && (await this.jobs.findByIdempotencyKey(principal.id, idempotencyKey))) return;
    throw unprocessable(verdict.reason, { placement: verdict.placement });
  }

  private neverRunnableOn(view: CapacityView, job: NormalizedJob) {
    if (this.admission?.view !== view) {
      const tightBoundMs = tightestBoundMs(this.config.topology.tiers);
      const formable = this.config.topology.launcher !== 'none';
      this.admission = { view, admission: new SubmitAdmission(view.snapshot, view.unknown, { tightBoundMs, formable }) };
    }
    return this.admission.admission.neverRunnable(job.spec, job.constraints, new Date());
  }

  async get(principal: Principal, id: string) {
    const row = await this.owned(principal, id);
    return this.view(row);
  }

  private async view(row: JobRow) {
    if (row.array_size === null) return jobView(row);
    const [counts, parts] = await Promise.all([this.jobs.taskCounts(row.id), row.split_into ? this.jobs.parts(row.id) : []]);
    return jobView(row, counts, parts);
  }

  async list(principal: Principal, filter: JobListRequest) {
    if (filter.array !== undefined) return this.arrayTaskLines(principal, filter.array, filter);
    const beforeId = filter.cursor ? this.decodeCursor(filter.cursor) : undefined;
    const found = await this.jobs.list({ ownerId: principal.id, ...filter, beforeId, limit: filter.limit + 1 });
    const page = found.slice(0, filter.limit);
    const next = found.length > filter.limit ? Buffer.from(page[page.length - 1].id).toString('base64url') : null;
    return { items: page.map((row) => jobView(row)), nextCursor: next };
  }

  /**
   * `GET /v1/jobs?array=<id>`: the array's tasks as lines of their own (sacct's `<id>_<task>`),
   * filtered and paged like the job list. Another tenant's array is as unknown as a missing one.
   */
  private async arrayTaskLines(principal: Principal, arrayId: string, filter: JobListRequest) {
    const array = await this.owned(principal, arrayId);
    if (array.array_size === null) throw invalid('array', `job ${arrayId} is not an array`);
    if (filter.name !== undefined && filter.name !== array.name) return { items: [], nextCursor: null };
    const after = filter.cursor ? decodeTaskCursor(filter.cursor) : -1;
    const found = await this.jobs.taskLines(array.id, { afterTaskId: after, states: filter.states, island: filter.island, limit: filter.limit + 1 });
    const page = found.slice(0, filter.limit);
    const next = found.length > filter.limit ? Buffer.from(`task:${page[page.length - 1].task_id}`).toString('base64url') : null;
    return { items: page.map((task) => arrayTaskLine(array, task)), nextCursor: next };
  }

  async tasks(principal: Principal, id: string, after: number, limit: number) {
    const row = await this.owned(principal, id);
    if (row.array_size === null) throw invalid('id', 'this job is not an array');
    const found = await this.jobs.tasks(row.id, after, limit + 1);
    const page = found.slice(0, limit);
    return {
      items: page.map(taskView),
      nextAfter: found.length > limit ? page[page.length - 1].task_id : null,
    };
  }

  async events(principal: Principal, id: string) {
    const row = await this.owned(principal, id);
    const history = await this.jobs.events(row.id);
    return {
      items: history.map((e) => ({ at: new Date(e.at).toISOString(), from: e.from_state, to: e.to_state, reason: e.reason })),
    };
  }

  /** The placement decision stored when the job was dispatched or rejected; 404 before that. */
  async placement(principal: Principal, id: string) {
    const row = await this.owned(principal, id);
    const p = row.placement as PlacementRecord | null;
    if (!p) throw notFound(`a placement for job ${id}`);
    return {
      island: p.island,
      partition: p.partition,
      decidedAt: p.decidedAt,
      status: p.status,
      score: p.score,
      expectedStartMinutes: p.expectedStartMinutes,
      ...(p.reason ? { reason: p.reason } : {}),
      ...(p.parts ? { parts: p.parts } : {}),
      candidates: p.candidates,
    };
  }

  async cancel(principal: Principal, id: string) {
    const row = await this.owned(principal, id);
    const cancelled = await this.cancelOwned(row, id);
    if (principal.scopes.has('admin') && row.state !== 'CANCELLED') {
      const { actor, details } = principalActor(principal);
      await this.audit.record({ actor, action: 'job.cancel', target: `job:${row.id}`, details: { ...details, owner: row.owner_id, state: row.state } });
    }
    return cancelled;
  }

  private async cancelOwned(row: JobRow, id: string) {
    if (row.state === 'CANCELLED') return jobView(row);
    if (isTerminal(row.state)) throw conflict(`job ${id} already ended (${row.state})`);
    if (row.split_into) {
      await this.jobs.setFlags(row.id, { cancelRequested: true });
      for (const part of await this.jobs.parts(row.id)) if (!isTerminal(part.state)) await this.cancelOne(part);
      await this.jobs.refreshSplitParents([row.id]);
      return this.view((await this.jobs.findById(row.id))!);
    }
    return jobView(await this.cancelOne(row));
  }

  /** Cancels one job as SLURM knows it (a whole job, or one part of a split array). */
  private async cancelOne(row: JobRow): Promise<JobRow> {
    if (
      row.state === 'ACCEPTED' &&
      (await this.jobs.transition(row.id, 'ACCEPTED', { state: 'CANCELLED', reason: 'cancelled before dispatch', endedAt: new Date() }))
    ) {
      return (await this.jobs.findById(row.id))!;
    }
    // Recorded first: a dispatcher that is submitting right now sees the flag and cancels what it submitted.
    const flagged = (await this.jobs.setFlags(row.id, { cancelRequested: true }))!;
    if (flagged.slurm_job_id !== null) {
      await this.onIsland(flagged, (slurm) => slurm.cancel(flagged.slurm_user, Number(flagged.slurm_job_id)));
    }
    return flagged;
  }

  /** Cancels each job on its own: one job's refusal (unknown, already ended) does not stop the others. */
  async cancelMany(principal: Principal, ids: string[], mfa: MfaProof) {
    if (ids.length > this.config.identity.mfa.massCancelJobs) await this.mfa.require(principal, 'mass_cancel', mfa);
    const items = await mapLimit(ids, 8, async (id) => {
      try {
        return { id, state: (await this.cancel(principal, id)).state };
      } catch (error) {
        if (error instanceof Problem && error.status < 500) return { id, status: error.status, error: error.detail };
        throw error;
      }
    });
    return { items };
  }

  async setHold(principal: Principal, id: string, hold: boolean) {
    const row = await this.owned(principal, id);
    const holdable: JobState[] = [...NOT_YET_IN_SLURM, 'PENDING'];
    if (!holdable.includes(row.state)) {
      throw conflict(`only pending jobs can be ${hold ? 'held' : 'released'}; job ${id} is ${row.state}`);
    }
    const flagged = (await this.jobs.setFlags(row.id, { hold }))!;
    const targets = row.split_into ? (await this.jobs.parts(row.id)).filter((part) => holdable.includes(part.state)) : [flagged];
    for (const target of targets) {
      const current = target === flagged ? flagged : (await this.jobs.setFlags(target.id, { hold }))!;
      if (current.slurm_job_id !== null) {
        await this.onIsland(current, (slurm) => slurm.setHold(current.slurm_user, Number(current.slurm_job_id), hold));
      }
    }
    return this.view(flagged);
  }

  async output(principal: Principal, id: string, request: OutputRequest) {
    const row = await this.partHolding(await this.owned(principal, id), request.taskId);
    if (row.slurm_job_id === null || row.island === null) {
      throw conflict(`job ${id} has not reached SLURM yet (${row.state}); it has no output`);
    }
    const path = await this.outputPath(row, request);
    if (!(await this.hasStarted(row, request.taskId))) {
      // A file of that name may be left from an earlier job with the same SLURM id: never serve it.
      throw notFound(`the ${request.stream} file ${path} (the job has not started)`);
    }
    const island = this.islands.get(row.island);
    if (!island) throw unavailable(`island ${row.island} is not configured here`);
    const output = await readOutput((range) => this.readJobFile(island.files, row, path, request.stream, range), request.selection);
    if (!output) throw notFound(`the ${request.stream} file ${path} (the job may not have started)`);
    return { path, ...output };
  }

  /**
   * Every refusal answers the same: what was wrong (a symlink, a FIFO, a target outside the roots,
   * missing or not) is logged, never told, so the answer reveals nothing that exists outside them.
   */
  private async readJobFile(files: JobFiles, row: JobRow, path: string, stream: OutputRequest['stream'], range: ByteRange) {
    try {
      return await files.read(row.slurm_user, path, range);
    } catch (error) {
      if (error instanceof JobFileAccessError) {
        this.logger.warn(`job ${row.id}: output read refused: ${error.message}`);
        throw new Problem(403, 'Forbidden', `the ${stream} file is not a regular file of ${row.slurm_user} inside its directories`, {
          field: 'stream',
        });
      }
      if (error instanceof JobFileUnavailableError) {
        this.logger.warn(`job ${row.id}: output read unavailable: ${error.message}`);
        if (error.reason === 'busy') throw unavailable('too many output reads are waiting on the file system; retry shortly');
        throw new Problem(504, 'Gateway timeout', `the file system did not answer in time reading the ${stream} file`);
      }
      if (error instanceof SlurmUnavailableError) throw unavailable(`island ${row.island} is unreachable: ${error.message}`);
      throw error;
    }
  }

  private async outputPath(row: JobRow, request: OutputRequest): Promise<string> {
    const isArray = row.array_size !== null;
    let slurmJobId = Number(row.slurm_job_id);
    let nodeName = row.batch_host ?? undefined;
    if (isArray) {
      if (request.taskId === undefined) throw invalid('task', 'an array job needs the task whose output you want');
      const task = await this.jobs.task(row.id, request.taskId);
      if (!task || task.slurm_job_id === null) throw notFound(`task ${request.taskId} of job ${row.id} in SLURM`);
      slurmJobId = Number(task.slurm_job_id);
      nodeName = task.batch_host ?? nodeName;
    } else if (request.taskId !== undefined) {
      throw invalid('task', 'this job is not an array');
    }
    const files = outputFiles(
      row.spec,
      {
        jobId: slurmJobId,
        // A part of a split array was sent with %A pinned to the whole array's id (dispatch filePatternsOf).
        arrayJobId: isArray ? Number(row.parent_id ?? row.slurm_job_id) : undefined,
        arrayTaskId: isArray ? request.taskId : undefined,
        jobName: row.name,
        user: row.slurm_user,
        nodeName,
      },
      row.working_directory,
      row.default_output,
    );
    return request.stream === 'stderr' ? files.stderr : files.stdout;
  }

  private async hasStarted(row: JobRow, taskId: number | undefined): Promise<boolean> {
    if (taskId === undefined || row.array_size === null) return row.started_at !== null;
    return (await this.jobs.task(row.id, taskId))?.started_at != null;
  }

  /** For a split array, the part that ran the task (its island, its SLURM ids); otherwise the job itself. */
  private async partHolding(row: JobRow, taskId: number | undefined): Promise<JobRow> {
    if (!row.split_into) return row;
    if (taskId === undefined) throw invalid('task', 'an array job needs the task whose output you want');
    const task = await this.jobs.task(row.id, taskId);
    if (!task) throw notFound(`task ${taskId} of job ${row.id} in SLURM`);
    return (await this.jobs.findById(task.job_id))!;
  }

  /** VEID tier for the job's size and partition; step-up MFA when it asks for many node-hours. */
  private runAs(principal: Principal): string {
    if (!principal.slurmUser) {
      const wallet = principal.chainAddress;
      throw new Problem(403, 'Forbidden', `${principal.name} has no POSIX account on the islands, so it cannot run jobs`, {
        reason: 'no_posix_account',
        ...(wallet ? { address: wallet, remedy: unmappedWalletRemedy(wallet) } : {}),
      });
    }
    // Mapped before the rule existed, or a service account named by an island since: refused before it is stored.
    const refusal = serviceAccountRefusal(principal.slurmUser, this.islands.deniedTenantUsers());
    if (refusal) throw new Problem(403, 'Forbidden', `${principal.name} is mapped to ${refusal.reason}, so it cannot run jobs`);
    return principal.slurmUser;
  }

  /** Another tenant's job is indistinguishable from a job that does not exist. */
  private async owned(principal: Principal, id: string): Promise<JobRow> {
    if (!/^\d{1,18}$/.test(id)) throw notFound(`job ${id}`);
    const row = await this.jobs.findOwned(principal.id, id);
    if (!row) throw notFound(`job ${id}`);
    return row;
  }

  private decodeCursor(cursor: string): string {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!/^\d{1,18}$/.test(id)) throw invalid('cursor', 'is not a cursor this API returned');
    return id;
  }

  private async onIsland(row: JobRow, call: (slurm: Island['slurm']) => Promise<void>) {
    const island = this.islands.get(row.island!);
    if (!island) throw unavailable(`island ${row.island} is not configured here`);
    try {
      await call(island.slurm);
    } catch (error) {
      if (error instanceof SlurmRejectedError) throw conflict(`SLURM refused: ${error.message}`);
      if (error instanceof SlurmUnavailableError) throw unavailable(`island ${row.island} is unreachable: ${error.message}`);
      this.logger.error(`SLURM call for job ${row.id} failed: ${(error as Error).message}`);
      throw error;
    }
  }
}

export interface JobListRequest {
  states?: string[];
  island?: string;
  name?: string;
  /** An array's id: list its tasks instead of jobs. */
  array?: string;
  cursor?: string;
  limit: number;
}

/** A task-list cursor (`task:<id>` in base64url), never to be confused with a job-list one. */
function decodeTaskCursor(cursor: string): number {
  const m = /^task:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw invalid('cursor', 'is not a cursor this API returned for this array');
  return Number(m[1]);
}
