import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../db/sql';
import type { JobRow } from '../jobs/jobs.repository';

/**
 * The dispatcher's half of the job table. A lease makes one dispatcher the owner of a job for a
 * bounded time, so two workers never submit the same job, and a crashed worker's job is picked
 * up again once its lease runs out.
 */
@Injectable()
export class DispatchRepository {
  constructor(private readonly db: DataSource) {}

  async claim(jobId: string, leaseSeconds: number): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(
      this.db,
      `UPDATE jobs SET state = 'DISPATCHING', dispatch_lease_until = now() + make_interval(secs => $2), updated_at = now()
        WHERE id = $1 AND state IN ('ACCEPTED', 'DISPATCHING') AND slurm_job_id IS NULL
          AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())
        RETURNING *`,
      [jobId, leaseSeconds],
    );
    return row ?? null;
  }

  /** Committed before the submit call: afterwards we can no longer assume SLURM lacks the job. */
  async markSubmitAttempt(jobId: string, island: string, partition: string): Promise<void> {
    await rows(
      this.db,
      `UPDATE jobs SET dispatch_attempts = dispatch_attempts + 1, island = $2, partition = $3, updated_at = now()
        WHERE id = $1`,
      [jobId, island, partition],
    );
  }

  async recordSubmitted(jobId: string, island: string, slurmJobId: number): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(
      this.db,
      `WITH updated AS (
         UPDATE jobs SET slurm_job_id = $3, island = $2, state = 'PENDING', state_reason = NULL,
                dispatched_at = now(), dispatch_lease_until = NULL, updated_at = now()
          WHERE id = $1 AND slurm_job_id IS NULL AND state = 'DISPATCHING'
          RETURNING *),
       event AS (INSERT INTO job_events (job_id, from_state, to_state, reason)
                 SELECT id, 'DISPATCHING', 'PENDING', 'submitted to ' || $2 || ' as ' || $3 FROM updated)
       SELECT * FROM updated`,
      [jobId, island, slurmJobId],
    );
    return row ?? null;
  }

  /** Gives the job back to the queue (dependency not ready, SLURM unreachable). */
  async release(jobId: string, reason: string | null): Promise<void> {
    await rows(
      this.db,
      `UPDATE jobs SET state = CASE WHEN dispatch_attempts = 0 THEN 'ACCEPTED' ELSE state END,
              state_reason = $2, dispatch_lease_until = NULL, updated_at = now()
        WHERE id = $1 AND state = 'DISPATCHING' AND slurm_job_id IS NULL`,
      [jobId, reason],
    );
  }

  /** Jobs that should be in the dispatch queue: a lost enqueue or a dead worker left them behind. */
  async waiting(olderThanSeconds: number, afterId: string, limit: number): Promise<string[]> {
    const found = await rows<{ id: string }>(
      this.db,
      `SELECT id FROM jobs
        WHERE state IN ('ACCEPTED', 'DISPATCHING') AND slurm_job_id IS NULL
          AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())
          AND updated_at < now() - make_interval(secs => $1) AND id > $2
        ORDER BY id LIMIT $3`,
      [olderThanSeconds, afterId, limit],
    );
    return found.map((r) => r.id);
  }

  async unfinishedCounts(): Promise<Map<string, number>> {
    const counted = await rows<{ island: string; n: string }>(
      this.db,
      'SELECT island, count(*) AS n FROM jobs WHERE ended_at IS NULL AND island IS NOT NULL GROUP BY island',
    );
    return new Map(counted.map((c) => [c.island, Number(c.n)]));
  }
}
