import type { JobSpec } from '../sbatch/job-spec';

/** What budgets need to know of a tenant's jobs, answered by the jobs feature (it owns the table). */
export interface BillableJobs {
  /** A job of this owner was accepted under this idempotency key (a replay is never refused). */
  submittedUnder(ownerId: string, idempotencyKey: string): Promise<boolean>;
  /**
   * This month's jobs that will be billed and are not yet: every unfinished job, and ended ones on
   * accounting islands still waiting for their record. A split array counts through its parts.
   */
  unbilledSpecs(ownerId: string, accountingIslands: string[]): Promise<JobSpec[]>;
}

export const BILLABLE_JOBS = Symbol('BILLABLE_JOBS');
