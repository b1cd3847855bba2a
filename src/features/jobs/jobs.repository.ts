import { logStateChanges, StateChangeRecord } from './job-state-log';
import { splitJobState } from '../../core/jobs/split-array';
import type { JobRow, TaskRow, TaskLineRow, StateChange, PendingTaskFields } from '../../core/jobs/job-rows';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { preparedRows, rows } from '../../adapters/postgres/sql';
import type { JobState } from '../../core/jobs/lifecycle';
import type { NormalizedJob } from '../../core/jobs/job-request';
import { GroupCommit } from '../../core/common/group-commit';
import { isDatabaseUnavailable } from '../../adapters/postgres/database-unavailable';
import { matchInserted } from '../../core/jobs/match-inserted';
import { transaction } from '../../adapters/postgres/transactions';
import { type AccountingQueue, type UnaccountedJob } from '../../core/usage/accounting-queue';
import { type BillableJobs } from '../../core/usage/billable-jobs';
import { type JobSpec } from '../../core/sbatch/job-spec';
import { type UserConstraints } from '../../core/placement/index';
import { type JobStats } from '../../core/common/domain-stats';
import { type JobAccountingStatus } from '../../core/usage/accounting-queue';
import { type JobOutcomes, type JobProgress } from '../../core/jobs/job-outcomes';

export interface JobListFilter {
  ownerId: string;
  states?: string[];
  island?: string;
  name?: string;
  beforeId?: string;
  limit: number;
}

const TASK_COLUMNS = 'job_id, task_id, slurm_job_id, state, state_reason, nodes, batch_host, exit_code, exit_signal, started_at, ended_at';
/** A task row is SLURM's latest word on it: every column is replaced. */
const TASK_UPSERT = `ON CONFLICT (job_id, task_id) DO UPDATE SET
         slurm_job_id = EXCLUDED.slurm_job_id, state = EXCLUDED.state, state_reason = EXCLUDED.state_reason,
         nodes = EXCLUDED.nodes, batch_host = EXCLUDED.batch_host, exit_code = EXCLUDED.exit_code, exit_signal = EXCLUDED.exit_signal,
         started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at`;

/** A job's own id and its parts' ids (tasks of a split array live on its parts). */
const JOB_AND_PARTS = 'SELECT id FROM jobs WHERE id = $1 OR parent_id = $1';
/** A job's row with the CPU time accounting measured for it (all tasks, all parts of a split array); NULL before accounting. */
const JOB_WITH_CPU = `jobs.*, (SELECT sum(c.cpu_seconds) FROM job_cpu_times c
                                WHERE c.job_id IN (SELECT jobs.id UNION ALL SELECT p.id FROM jobs p WHERE p.parent_id = jobs.id)) AS cpu_seconds`;

/** A submission to insert as a new ACCEPTED job. */
interface NewJob {
  ownerId: string;
  slurmUser: string;
  job: NormalizedJob;
  idempotencyKey: string | null;
  requestHash: Buffer;
  hold: boolean;
}

const INSERT_BATCH = 100;
/** Two at once: an insert waiting on a concurrent use of the same idempotency key holds up only its own batch. */
const INSERTS_IN_FLIGHT = 2;

/**
 * Inserts the submissions in one statement; each gets its new row, or null when its owner had
 * already used its idempotency key (the caller then looks the existing job up).
 */
async function insertJobs(m: DataSource | EntityManager, batch: NewJob[]): Promise<Array<JobRow | null>> {
  const inserted = await preparedRows<JobRow>(
    m,
    'jobs.insert',
    `INSERT INTO jobs (owner_id, slurm_user, idempotency_key, request_hash, name, script, spec, environment,
                       working_directory, partition, state, array_size, depends_on, hold, constraints)
     SELECT t.owner_id, t.slurm_user, t.idempotency_key, decode(t.request_hash, 'hex'), t.name, t.script, t.spec::jsonb,
            t.environment::jsonb, t.working_directory, t.partition, 'ACCEPTED', t.array_size, t.depends_on::bigint[], t.hold,
            t.constraints::jsonb
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::int[], $12::text[], $13::bool[], $14::text[])
            WITH ORDINALITY AS t(owner_id, slurm_user, idempotency_key, request_hash, name, script, spec, environment,
                                 working_directory, partition, array_size, depends_on, hold, constraints, n)
      ORDER BY t.n
     ON CONFLICT (owner_id, idempotency_key) DO NOTHING
     RETURNING *`,
    [
      batch.map((s) => s.ownerId),
      batch.map((s) => s.slurmUser),
      batch.map((s) => s.idempotencyKey),
      batch.map((s) => s.requestHash.toString('hex')),
      batch.map((s) => s.job.name),
      batch.map((s) => s.job.script),
      batch.map((s) => JSON.stringify(s.job.spec)),
      batch.map((s) => JSON.stringify(s.job.environment)),
      batch.map((s) => s.job.workingDirectory),
      batch.map((s) => s.job.spec.partition ?? null),
      batch.map((s) => s.job.arraySize),
      batch.map((s) => `{${s.job.dependsOn.join(',')}}`),
      batch.map((s) => s.hold),
      batch.map((s) => JSON.stringify(s.job.constraints)),
    ],
  );
  return matchInserted(batch, inserted);
}

/** What dispatching a job reads of it (no accounting, timing or placement columns it would only parse and drop). */
const CLAIMED_COLUMNS = [
  'id',
  'parent_id',
  'slurm_user',
  'state',
  'state_reason',
  'script',
  'spec',
  'environment',
  'working_directory',
  'array_size',
  'depends_on',
  'hold',
  'cancel_requested',
  'constraints',
  'dispatch_attempts',
  'dispatch_lease_until',
  'submitted_at',
] as const;
/** A claimed job, with the number of submit attempts made before this claim. */
export type ClaimedJob = Pick<JobRow, (typeof CLAIMED_COLUMNS)[number]> & { previous_attempts: number };

/** What is needed after recording: requests (cancel, hold) that arrived during the submit. */
export type RecordedJob = Pick<JobRow, 'id' | 'island' | 'slurm_job_id' | 'slurm_user' | 'cancel_requested' | 'hold'>;

export interface Submitted {
  jobId: string;
  island: string;
  partition: string;
  slurmJobId: number;
  /** The placement decision (null for a job found in SLURM from an earlier attempt: its stored one stays). */
  placement: unknown | null;
  /** The --output pattern submitted in place of the user's (null: the user gave one). */
  defaultOutput: string | null;
}

/**
 * The one writer of `jobs`, `job_tasks` and `job_events`: accepting jobs (group-committed),
 * dispatch (claim, record, split, release), what the follower observes, and the accounting
 * queue; other features reach it through ports (JOB_SUBMISSION, ACCOUNTING_QUEUE, BILLABLE_JOBS).
 */
@Injectable()
export class JobsRepository implements AccountingQueue, BillableJobs, JobStats, JobOutcomes {
  /** Submissions arriving together are inserted together (one statement and commit per batch). */
  private readonly accepted: GroupCommit<NewJob, JobRow | null>;

  constructor(private readonly db: DataSource) {
    this.accepted = new GroupCommit((batch) => insertJobs(db, batch), {
      maxBatch: INSERT_BATCH,
      maxInFlight: INSERTS_IN_FLIGHT,
      failsEveryItem: isDatabaseUnavailable,
    });
  }

  /**
   * Inserts a job unless the owner already used the idempotency key; returns the stored row
   * and whether this call created it. `afterInsert` runs in the same transaction as a newly
   * created row (a record that must exist exactly when the job does); its failure undoes the job.
   */
  async insert(
    ownerId: string,
    slurmUser: string,
    job: NormalizedJob,
    idempotencyKey: string | null,
    requestHash: Buffer,
    hold: boolean,
    afterInsert?: (row: JobRow) => Promise<void>,
  ): Promise<{ row: JobRow; created: boolean }> {
    const submission: NewJob = { ownerId, slurmUser, job, idempotencyKey, requestHash, hold };
    let created: JobRow | null;
    if (afterInsert) {
      created = await transaction(this.db, async (m) => {
        const [found] = await insertJobs(m, [submission]);
        if (found) await afterInsert(found);
        return found;
      });
    } else {
      created = await this.accepted.submit(submission);
    }
    if (created) return { row: created, created: true };
    return { row: (await this.findByIdempotencyKey(ownerId, idempotencyKey as string)) as JobRow, created: false };
  }

  /** The owner's jobs SLURM knows under these ids (on any island), for explaining a dependency on a SLURM id. */
  async findOwnedBySlurmIds(ownerId: string, slurmJobIds: number[]): Promise<JobRow[]> {
    return rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE owner_id = $1 AND slurm_job_id = ANY($2::bigint[]) ORDER BY id LIMIT 10', [ownerId, slurmJobIds]);
  }

  /** The owner's job created with this Idempotency-Key, if any. */
  async findByIdempotencyKey(ownerId: string, idempotencyKey: string): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE owner_id = $1 AND idempotency_key = $2', [ownerId, idempotencyKey]);
    return row ?? null;
  }

  async findOwned(ownerId: string, id: string): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(this.db, `SELECT ${JOB_WITH_CPU} FROM jobs WHERE id = $1 AND owner_id = $2`, [id, ownerId]);
    return row ?? null;
  }

  async findById(id: string): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE id = $1', [id]);
    return row ?? null;
  }

  async findManyOwned(ownerId: string, ids: number[]): Promise<JobRow[]> {
    if (ids.length === 0) return [];
    return rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE owner_id = $1 AND id = ANY($2::bigint[])', [ownerId, ids]);
  }

  async findMany(ids: string[]): Promise<JobRow[]> {
    if (ids.length === 0) return [];
    return rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE id = ANY($1::bigint[])', [ids]);
  }

  async list(filter: JobListFilter): Promise<JobRow[]> {
    // Parts of a split array are not jobs of their own to the user: their parent is.
    const where = ['owner_id = $1', 'parent_id IS NULL'];
    const params: unknown[] = [filter.ownerId];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (filter.states?.length) add('state = ANY(?::text[])', filter.states);
    if (filter.island) add('island = ?', filter.island);
    if (filter.name) add('name = ?', filter.name);
    if (filter.beforeId) add('id < ?::bigint', filter.beforeId);
    params.push(filter.limit);
    return rows<JobRow>(this.db, `SELECT ${JOB_WITH_CPU} FROM jobs WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
  }

  async tasks(jobId: string, afterTaskId: number, limit: number): Promise<TaskRow[]> {
    return rows<TaskRow>(this.db, `SELECT * FROM job_tasks WHERE job_id IN (${JOB_AND_PARTS}) AND task_id > $2 ORDER BY task_id LIMIT $3`, [
      jobId,
      afterTaskId,
      limit,
    ]);
  }

  /** An array's tasks as lines of their own: each with the island and partition of the job (or part) that runs it. */
  async taskLines(jobId: string, filter: { afterTaskId: number; states?: string[]; island?: string; limit: number }): Promise<TaskLineRow[]> {
    return rows<TaskLineRow>(
      this.db,
      `SELECT t.*, j.island, j.partition, c.cpu_seconds FROM job_tasks t JOIN jobs j ON j.id = t.job_id
          LEFT JOIN job_cpu_times c ON c.job_id = t.job_id AND c.task_id = t.task_id
        WHERE t.job_id IN (${JOB_AND_PARTS}) AND t.task_id > $2
          AND ($3::text[] IS NULL OR t.state = ANY($3::text[])) AND ($4::text IS NULL OR j.island = $4)
        ORDER BY t.task_id LIMIT $5`,
      [jobId, filter.afterTaskId, filter.states?.length ? filter.states : null, filter.island ?? null, filter.limit],
    );
  }

  async task(jobId: string, taskId: number): Promise<TaskRow | null> {
    const [row] = await rows<TaskRow>(this.db, `SELECT * FROM job_tasks WHERE job_id IN (${JOB_AND_PARTS}) AND task_id = $2`, [jobId, taskId]);
    return row ?? null;
  }

  async taskCounts(jobId: string): Promise<Record<string, number>> {
    const counted = await rows<{ state: string; n: string }>(
      this.db,
      `SELECT state, count(*) AS n FROM job_tasks WHERE job_id IN (${JOB_AND_PARTS}) GROUP BY state`,
      [jobId],
    );
    return Object.fromEntries(counted.map((c) => [c.state, Number(c.n)]));
  }

  async events(jobId: string): Promise<Array<{ at: Date; from_state: string | null; to_state: string; reason: string | null }>> {
    return rows(this.db, 'SELECT at, from_state, to_state, reason FROM job_events WHERE job_id = $1 ORDER BY id', [jobId]);
  }

  /** Moves a job from `from` to a new state; false when it was no longer in `from`. */
  /** The parts of a split array, in order. */
  parts(parentId: string): Promise<JobRow[]> {
    return rows<JobRow>(this.db, 'SELECT * FROM jobs WHERE parent_id = $1 ORDER BY array_part', [parentId]);
  }

  /** Brings split arrays' own state up to date with their parts (called after parts changed). */
  async refreshSplitParents(parentIds: string[]): Promise<number> {
    if (parentIds.length === 0) return 0;
    const found = await rows<{
      parent_id: string;
      parent_state: JobState;
      parent_reason: string | null;
      state: JobState;
      started_at: Date | null;
      ended_at: Date | null;
      exit_code: number | null;
    }>(
      this.db,
      `SELECT c.parent_id, p.state AS parent_state, p.state_reason AS parent_reason, c.state, c.started_at, c.ended_at, c.exit_code
         FROM jobs c JOIN jobs p ON p.id = c.parent_id
        WHERE c.parent_id = ANY($1::bigint[]) AND p.ended_at IS NULL
        ORDER BY c.parent_id, c.array_part`,
      [[...new Set(parentIds)]],
    );
    const byParent = new Map<string, typeof found>();
    for (const row of found) byParent.set(row.parent_id, [...(byParent.get(row.parent_id) ?? []), row]);
    const changes: Array<{ id: string; from: JobState; change: StateChange }> = [];
    for (const [id, parts] of byParent) {
      const next = splitJobState(parts.map((p) => ({ state: p.state, startedAt: p.started_at, endedAt: p.ended_at, exitCode: p.exit_code })));
      if (next.state === parts[0].parent_state && next.reason === parts[0].parent_reason) continue;
      changes.push({ id, from: parts[0].parent_state, change: next });
    }
    return this.transitionMany(changes);
  }

  async transition(id: string, from: JobState, change: StateChange): Promise<boolean> {
    return (await this.transitionMany([{ id, from, change }])) === 1;
  }

  /**
   * Applies many state changes in one statement, each only if its job is still in the state the
   * change was decided from, and writes an event for every change made. Returns how many applied.
   */
  async transitionMany(changes: Array<{ id: string; from: JobState; change: StateChange }>): Promise<number> {
    if (changes.length === 0) return 0;
    const input = changes.map(({ id, from, change }) => ({
      id,
      from_state: from,
      state: change.state,
      reason: change.reason,
      exit_code: change.exitCode ?? null,
      exit_signal: change.exitSignal ?? null,
      batch_host: change.batchHost ?? null,
      nodes: change.nodes ?? null,
      partition: change.partition ?? null,
      started_at: change.startedAt ?? null,
      ended_at: change.endedAt ?? null,
      placement: change.placement ?? null,
    }));
    const applied = await rows<StateChangeRecord>(
      this.db,
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
           id bigint, from_state text, state text, reason text, exit_code int, exit_signal int,
           batch_host text, nodes text, partition text, started_at timestamptz, ended_at timestamptz, placement jsonb)),
       updated AS (
         UPDATE jobs j SET state = i.state, state_reason = i.reason,
                exit_code = COALESCE(i.exit_code, j.exit_code), exit_signal = COALESCE(i.exit_signal, j.exit_signal),
                batch_host = COALESCE(i.batch_host, j.batch_host), nodes = COALESCE(i.nodes, j.nodes), partition = COALESCE(i.partition, j.partition),
                started_at = COALESCE(j.started_at, i.started_at), ended_at = i.ended_at,
                placement = COALESCE(i.placement, j.placement), dispatch_lease_until = NULL, updated_at = now()
           FROM input i
          WHERE j.id = i.id AND j.state = i.from_state
          RETURNING j.id, i.from_state, i.state, i.reason)
       INSERT INTO job_events (job_id, from_state, to_state, reason)
       SELECT id, from_state, state, reason FROM updated
       RETURNING job_id, from_state, to_state, reason`,
      [JSON.stringify(input)],
    );
    logStateChanges(applied);
    return applied.length;
  }

  async setFlags(id: string, flags: { hold?: boolean; cancelRequested?: boolean }): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(
      this.db,
      `UPDATE jobs SET hold = COALESCE($2, hold), cancel_requested = cancel_requested OR COALESCE($3, false),
              updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id, flags.hold ?? null, flags.cancelRequested ?? null],
    );
    return row ?? null;
  }

  async upsertTasks(jobId: string, tasks: Array<Omit<TaskRow, 'job_id'>>): Promise<void> {
    if (tasks.length === 0) return;
    await rows(
      this.db,
      `INSERT INTO job_tasks (${TASK_COLUMNS})
       SELECT $1, t.task_id, t.slurm_job_id, t.state, t.state_reason, t.nodes, t.batch_host, t.exit_code, t.exit_signal, t.started_at, t.ended_at
         FROM jsonb_to_recordset($2::jsonb) AS t(task_id int, slurm_job_id bigint, state text, state_reason text, nodes text,
                                                 batch_host text, exit_code int, exit_signal int, started_at timestamptz, ended_at timestamptz)
       ${TASK_UPSERT}`,
      [jobId, JSON.stringify(tasks)],
    );
  }

  /** Tasks that share everything but their id (an array's pending remainder), sent as one id list. */
  async upsertPendingTasks(jobId: string, taskIds: number[], fields: PendingTaskFields): Promise<void> {
    if (taskIds.length === 0) return;
    await rows(
      this.db,
      `INSERT INTO job_tasks (${TASK_COLUMNS})
       SELECT $1, t, NULL, $3, $4, NULL, NULL, $5, $6, NULL, $7 FROM unnest($2::int[]) AS t
       ${TASK_UPSERT}`,
      [jobId, taskIds, fields.state, fields.state_reason, fields.exit_code, fields.exit_signal, fields.ended_at],
    );
  }

  // The accounting queue (core/usage/accounting-queue.ts): the transaction that writes a usage
  // record is what guarantees one record per job; the lease only saves work.
  lease(islands: string[], limit: number, leaseSeconds: number): Promise<UnaccountedJob[]> {
    return rows<UnaccountedJob>(
      this.db,
      `WITH due AS (
         SELECT id FROM jobs
          WHERE ended_at IS NOT NULL AND accounted_at IS NULL AND slurm_job_id IS NOT NULL
            AND island = ANY($1) AND (accounting_next_at IS NULL OR accounting_next_at <= now())
          ORDER BY accounting_next_at NULLS FIRST, id
          LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE jobs j SET accounting_next_at = now() + make_interval(secs => $3)
         FROM due WHERE j.id = due.id
       RETURNING j.id, j.owner_id, j.slurm_user, j.island, j.slurm_job_id, j.array_size, j.state, j.ended_at, j.accounting_attempts`,
      [islands, limit, leaseSeconds],
    );
  }

  /** Accounting is not there yet: try again after `delaySeconds`, and say why (visible in the job's usage view). */
  async retryLater(jobId: string, note: string, delaySeconds: number): Promise<void> {
    await this.db.query(
      `UPDATE jobs SET accounting_attempts = accounting_attempts + 1, accounting_note = $2,
              accounting_next_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND accounted_at IS NULL`,
      [jobId, note, delaySeconds],
    );
  }

  /** Stops trying: the job stays unaccounted (never billed from a guess), with the reason. */
  async giveUp(jobId: string, note: string): Promise<void> {
    await this.db.query(`UPDATE jobs SET accounting_note = $2, accounting_next_at = 'infinity' WHERE id = $1 AND accounted_at IS NULL`, [
      jobId,
      `gave up: ${note}`,
    ]);
  }

  async markAccounted(jobId: string): Promise<boolean> {
    const marked = await rows(
      this.db,
      `UPDATE jobs SET accounted_at = now(), accounting_note = NULL, accounting_next_at = NULL
                                         WHERE id = $1 AND accounted_at IS NULL RETURNING id`,
      [jobId],
    );
    return marked.length > 0;
  }

  // Named queries for budgets (core/usage/billable-jobs.ts).
  async submittedUnder(ownerId: string, idempotencyKey: string): Promise<boolean> {
    return (await rows(this.db, 'SELECT 1 FROM jobs WHERE owner_id = $1 AND idempotency_key = $2', [ownerId, idempotencyKey])).length > 0;
  }

  async unbilledSpecs(ownerId: string, accountingIslands: string[]): Promise<JobSpec[]> {
    const unbilled = await rows<{ spec: JobSpec }>(
      this.db,
      `SELECT spec FROM jobs
        WHERE owner_id = $1 AND accounted_at IS NULL AND state <> 'REJECTED' AND split_into IS NULL
          AND submitted_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          AND (ended_at IS NULL OR (slurm_job_id IS NOT NULL AND island = ANY($2) AND accounting_next_at IS DISTINCT FROM 'infinity'))`,
      [ownerId, accountingIslands],
    );
    return unbilled.map((job) => job.spec);
  }

  // Dispatch: the worker's half of the table, in batches. A lease makes one dispatcher the owner of
  // a job for a bounded time, so two workers never submit the same job, and a crashed worker's jobs
  // are picked up again once their lease runs out. The claim counts a submit attempt in the same
  // committed statement, so after any crash we know whether SLURM might already have the job.
  async claim(jobIds: string[], leaseSeconds: number): Promise<ClaimedJob[]> {
    const claimed = await preparedRows<ClaimedJob>(
      this.db,
      'dispatch.claim',
      `UPDATE jobs SET state = 'DISPATCHING', dispatch_lease_until = now() + make_interval(secs => $2),
              dispatch_attempts = dispatch_attempts + 1, updated_at = now()
        WHERE id = ANY($1::bigint[]) AND state IN ('ACCEPTED', 'DISPATCHING') AND slurm_job_id IS NULL
          AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())
        RETURNING ${CLAIMED_COLUMNS.join(', ')}, dispatch_attempts - 1 AS previous_attempts`,
      [jobIds, leaseSeconds],
    );
    // A job is ACCEPTED exactly while it has no attempt counted (release puts it back at zero);
    // a re-claim after a lease ran out stays DISPATCHING and is no change of state.
    logStateChanges(
      claimed.filter((job) => job.previous_attempts === 0).map((job) => ({ job_id: job.id, from_state: 'ACCEPTED', to_state: 'DISPATCHING', reason: null })),
    );
    return claimed;
  }

  /** Records SLURM ids; returns the rows as they are now (a cancel or hold may have arrived meanwhile). */
  async recordSubmitted(submitted: Submitted[]): Promise<RecordedJob[]> {
    if (submitted.length === 0) return [];
    // One statement in the usual case; an id SLURM gave out before (its island was reset) first
    // releases the older job holding it, in a transaction with the recording.
    const first = await this.record(this.db, submitted);
    const { lost, recorded } = first.reused
      ? await this.db.transaction(async (m) => {
          const lost = await this.releaseReusedIds(m, submitted);
          const again = await this.record(m, submitted);
          if (again.reused) throw new Error('a SLURM id just recorded is still held by an unfinished job after releasing it');
          return { lost, recorded: again.recorded };
        })
      : { lost: [], recorded: first.recorded };
    // Logged once committed: a rolled-back change never shows in the logs.
    logStateChanges([
      ...lost,
      ...recorded.map((job) => ({
        job_id: job.id,
        from_state: 'DISPATCHING',
        to_state: 'PENDING',
        reason: `submitted to ${job.island} as ${job.slurm_job_id}`,
      })),
    ]);
    return recorded;
  }

  /**
   * SLURM just gave these ids to our jobs, so an older unfinished job of ours holding the same
   * (island, id) cannot exist in SLURM any more: its island was started again from scratch.
   */
  private releaseReusedIds(m: EntityManager, submitted: Submitted[]): Promise<StateChangeRecord[]> {
    return rows<StateChangeRecord>(
      m,
      `WITH old AS (
         SELECT j.id, j.state FROM jobs j
           JOIN unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(id, island, slurm_job_id)
             ON j.island = t.island AND j.slurm_job_id = t.slurm_job_id AND j.id <> t.id
          WHERE j.ended_at IS NULL
            FOR UPDATE OF j),
       lost AS (
         UPDATE jobs j SET state = 'LOST', state_reason = $4, ended_at = now(), updated_at = now()
           FROM old WHERE j.id = old.id
          RETURNING j.id, old.state AS from_state)
       INSERT INTO job_events (job_id, from_state, to_state, reason)
       SELECT id, from_state, 'LOST', $4 FROM lost
       RETURNING job_id, from_state, to_state, reason`,
      [
        submitted.map((s) => s.jobId),
        submitted.map((s) => s.island),
        submitted.map((s) => s.slurmJobId),
        'its island was reset: SLURM gave its id to another job',
      ],
    );
  }

  /**
   * Records the SLURM ids, unless an unfinished job still holds one of the (island, SLURM id) pairs
   * (the pair is unique): then nothing is recorded and `reused` says the holder must go first.
   */
  private async record(m: EntityManager | DataSource, submitted: Submitted[]): Promise<{ recorded: RecordedJob[]; reused: boolean }> {
    const found = await rows<RecordedJob & { reused: boolean }>(
      m,
      `WITH input AS (
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[])
                    AS t(id, island, partition, slurm_job_id, placement, default_output)),
       reused AS (
         SELECT 1 FROM jobs j JOIN input t ON j.island = t.island AND j.slurm_job_id = t.slurm_job_id AND j.id <> t.id
          WHERE j.ended_at IS NULL LIMIT 1),
       updated AS (
         UPDATE jobs j SET slurm_job_id = i.slurm_job_id, island = i.island, partition = i.partition, state = 'PENDING',
                default_output = i.default_output,
                state_reason = NULL, dispatched_at = now(), dispatch_lease_until = NULL, updated_at = now(),
                placement = COALESCE(i.placement::jsonb, j.placement)
           FROM input i
          WHERE j.id = i.id AND j.slurm_job_id IS NULL AND j.state = 'DISPATCHING' AND NOT EXISTS (SELECT 1 FROM reused)
          RETURNING j.id, j.island, j.slurm_job_id, j.slurm_user, j.cancel_requested, j.hold),
       event AS (
         INSERT INTO job_events (job_id, from_state, to_state, reason)
         SELECT id, 'DISPATCHING', 'PENDING', 'submitted to ' || island || ' as ' || slurm_job_id FROM updated)
       SELECT *, false AS reused FROM updated
       UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, true FROM reused`,
      [
        submitted.map((s) => s.jobId),
        submitted.map((s) => s.island),
        submitted.map((s) => s.partition),
        submitted.map((s) => s.slurmJobId),
        submitted.map((s) => (s.placement === null ? null : JSON.stringify(s.placement))),
        submitted.map((s) => s.defaultOutput),
      ],
    );
    if (found.some((row) => row.reused)) return { recorded: [], reused: true };
    return { recorded: found.map(({ reused: _reused, ...row }) => row), reused: false };
  }

  /**
   * Splits a claimed array job into parts, in one statement: the parent becomes PENDING with its
   * placement and part count, and each part becomes an ACCEPTED child job pinned to its island.
   * Returns the parts' ids (empty when the parent was no longer ours to split).
   */
  async split(
    parentId: string,
    parts: Array<{ part: number; spec: JobSpec; partition: string; size: number; constraints: UserConstraints }>,
    reason: string,
    placement: unknown,
  ): Promise<string[]> {
    const created = await rows<{ id: string }>(
      this.db,
      `WITH parent AS (
         UPDATE jobs SET state = 'PENDING', state_reason = $3, split_into = $4, placement = $5::jsonb, dispatched_at = now(),
                dispatch_lease_until = NULL, updated_at = now()
          WHERE id = $1 AND state = 'DISPATCHING' AND slurm_job_id IS NULL AND split_into IS NULL AND parent_id IS NULL
          RETURNING *),
       event AS (
         INSERT INTO job_events (job_id, from_state, to_state, reason) SELECT id, 'DISPATCHING', 'PENDING', $3 FROM parent)
       INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, partition,
                         state, array_size, hold, cancel_requested, constraints, parent_id, array_part)
       SELECT p.owner_id, p.slurm_user, p.request_hash, p.name, p.script, t.spec, p.environment, p.working_directory, t.partition,
              'ACCEPTED', t.size, p.hold, p.cancel_requested, t.constraints, p.id, t.part
         FROM parent p CROSS JOIN jsonb_to_recordset($2::jsonb) AS t(part int, spec jsonb, partition text, size int, constraints jsonb)
       RETURNING id`,
      [parentId, JSON.stringify(parts), reason, parts.length, JSON.stringify(placement)],
    );
    // The parent changed state only if the statement found it (it then created its parts).
    if (created.length > 0) logStateChanges([{ job_id: parentId, from_state: 'DISPATCHING', to_state: 'PENDING', reason }]);
    return created.map((row) => row.id);
  }

  /**
   * Gives jobs back (dependency not ready, SLURM unreachable). `submitted: false` says no submit
   * call was made for them, so the attempt counted by the claim is taken back. `leasedUntil`
   * keeps them leased (unclaimable) until a submission that may still reach SLURM no longer can.
   */
  async release(jobIds: string[], reason: string | null, submitted: boolean, leasedUntil?: Date): Promise<void> {
    if (jobIds.length === 0) return;
    const released = await rows<{ id: string; state: string }>(
      this.db,
      `UPDATE jobs SET dispatch_attempts = dispatch_attempts - CASE WHEN $3 THEN 0 ELSE 1 END,
              state = CASE WHEN dispatch_attempts - CASE WHEN $3 THEN 0 ELSE 1 END = 0 THEN 'ACCEPTED' ELSE state END,
              state_reason = $2, dispatch_lease_until = $4, updated_at = now()
        WHERE id = ANY($1::bigint[]) AND state = 'DISPATCHING' AND slurm_job_id IS NULL
        RETURNING id, state`,
      [jobIds, reason, submitted, leasedUntil ?? null],
    );
    logStateChanges(
      released.filter((job) => job.state === 'ACCEPTED').map((job) => ({ job_id: job.id, from_state: 'DISPATCHING', to_state: 'ACCEPTED', reason })),
    );
  }

  /**
   * Jobs that should be in the dispatch queue: accepted ones older than `acceptedAgeSeconds`
   * (a lost enqueue) and dispatching ones whose lease ran out (a dead worker).
   */
  async waiting(acceptedAgeSeconds: number, afterId: string, limit: number): Promise<string[]> {
    const found = await rows<{ id: string }>(
      this.db,
      `SELECT id FROM jobs
        WHERE slurm_job_id IS NULL AND ended_at IS NULL AND id > $2
          AND ((state = 'ACCEPTED' AND updated_at < now() - make_interval(secs => $1))
               OR (state = 'DISPATCHING' AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())))
        ORDER BY id LIMIT $3`,
      [acceptedAgeSeconds, afterId, limit],
    );
    return found.map((r) => r.id);
  }

  /**
   * Queue depth per island from our own table: jobs we submitted that SLURM still holds pending,
   * and their CPU-seconds (tasks × CPUs per task × time limit; no or unlimited time counts
   * `defaultMinutes`). Array jobs count one job per task.
   */
  async pendingQueues(defaultMinutes: number): Promise<Map<string, { pendingJobs: number; pendingCpuSeconds: number }>> {
    const counted = await rows<{ island: string; jobs: string; cpu_seconds: string }>(
      this.db,
      `SELECT island, sum(coalesce(array_size, 1)) AS jobs,
              sum(coalesce(array_size, 1) * greatest(coalesce((spec->>'ntasks')::numeric, 1), 1)
                  * greatest(coalesce((spec->>'cpusPerTask')::numeric, 1), 1)
                  * CASE WHEN jsonb_typeof(spec->'timeLimitMinutes') = 'number' THEN (spec->>'timeLimitMinutes')::numeric ELSE $1 END
                  * 60) AS cpu_seconds
         FROM jobs WHERE ended_at IS NULL AND state = 'PENDING' AND island IS NOT NULL GROUP BY island`,
      [defaultMinutes],
    );
    return new Map(counted.map((c) => [c.island, { pendingJobs: Number(c.jobs), pendingCpuSeconds: Number(c.cpu_seconds) }]));
  }

  // Named queries for metrics (core/common/domain-stats.ts).
  async countsByStateAndIsland(): Promise<Array<{ state: string; island: string; count: number }>> {
    const found = await rows<{ state: string; island: string; count: string }>(
      this.db,
      `SELECT state, coalesce(island, '') AS island, count(*) AS count FROM jobs GROUP BY 1, 2`,
    );
    return found.map((r) => ({ state: r.state, island: r.island, count: Number(r.count) }));
  }

  async dispatchBacklog(): Promise<{ depth: number; oldestAgeSeconds: number | null }> {
    const [row] = await rows<{ depth: string; oldest_age: number | null }>(
      this.db,
      `SELECT count(*) AS depth, extract(epoch FROM now() - min(submitted_at))::float8 AS oldest_age FROM jobs WHERE state = 'ACCEPTED'`,
    );
    return { depth: Number(row.depth), oldestAgeSeconds: row.oldest_age };
  }

  async accountingStatus(ownerId: string, jobId: string): Promise<JobAccountingStatus | null> {
    const [row] = await rows<JobAccountingStatus>(
      this.db,
      `SELECT id, island, slurm_job_id, ended_at, accounted_at, accounting_note, accounting_next_at FROM jobs WHERE id = $1 AND owner_id = $2`,
      [jobId, ownerId],
    );
    return row ?? null;
  }

  // Named query for the chain reporter (core/jobs/job-outcomes.ts).
  async exitCodes(jobIds: string[]): Promise<Map<string, number | null>> {
    const found = await rows<{ id: string; exit_code: number | null }>(this.db, 'SELECT id::text AS id, exit_code FROM jobs WHERE id = ANY($1::bigint[])', [
      jobIds,
    ]);
    return new Map(found.map((r) => [r.id, r.exit_code]));
  }

  async progress(jobIds: string[]): Promise<Map<string, JobProgress>> {
    const found = await rows<{ id: string; state: JobState; slurm_job_id: string | null; started_at: Date | null }>(
      this.db,
      'SELECT id::text AS id, state, slurm_job_id, started_at FROM jobs WHERE id = ANY($1::bigint[])',
      [jobIds],
    );
    return new Map(found.map((r) => [r.id, { state: r.state, slurmJobId: r.slurm_job_id, startedAt: r.started_at }]));
  }
}
