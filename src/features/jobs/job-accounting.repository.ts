import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { JobAccountingStatus, AccountingQueue, UnaccountedJob } from '../../core/usage/accounting-queue';
import type { BillableJobs } from '../../core/usage/billable-jobs';
import type { JobSpec } from '../../core/sbatch/job-spec';

/**
 * The jobs table as usage accounting and budgets see it (ports ACCOUNTING_QUEUE and BILLABLE_JOBS):
 * ended jobs waiting for their accounting record, and what a principal's budget still has to count.
 */
@Injectable()
export class JobAccountingRepository implements AccountingQueue, BillableJobs {
  constructor(private readonly db: DataSource) {}

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

  async accountingStatus(ownerId: string, jobId: string): Promise<JobAccountingStatus | null> {
    const [row] = await rows<JobAccountingStatus>(
      this.db,
      `SELECT id, island, slurm_job_id, ended_at, accounted_at, accounting_note, accounting_next_at FROM jobs WHERE id = $1 AND owner_id = $2`,
      [jobId, ownerId],
    );
    return row ?? null;
  }
}
