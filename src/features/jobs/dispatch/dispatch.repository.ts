import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { preparedRows, rows } from '../../../adapters/postgres/sql';
import type { JobRow } from '../../../core/jobs/job-rows';
import type { JobSpec } from '../../../core/sbatch/job-spec';
import type { UserConstraints } from '../../../core/placement/index';
import { logStateChanges, StateChangeRecord } from '../job-state-log';

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
 * The dispatcher's statements on `jobs` and `job_events`, each for a whole batch: claim, record the
 * SLURM ids, split an array across islands, release, and find the jobs the queue lost.
 */
@Injectable()
export class DispatchRepository {
  constructor(private readonly db: DataSource) {}

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
}
