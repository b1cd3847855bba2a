/** An ended job that SLURM ran and that has no usage record yet. */
export interface UnaccountedJob {
  id: string;
  owner_id: string;
  slurm_user: string;
  island: string;
  slurm_job_id: string;
  array_size: number | null;
  state: string;
  ended_at: Date;
  accounting_attempts: number;
}

/**
 * The jobs waiting for their usage record, kept by the jobs feature (their accounting columns are
 * part of the job); the usage feature leases them, says when to look again, and marks them done.
 */
export interface AccountingQueue {
  /**
   * Jobs due for accounting on these islands, the longest-waiting first, LEASED for `leaseSeconds`:
   * another worker skips them meanwhile (no double reads of slurmdbd), and if this one dies they
   * come back when the lease runs out.
   */
  lease(islands: string[], limit: number, leaseSeconds: number): Promise<UnaccountedJob[]>;
  /** Accounting is not there yet: try again after `delaySeconds`, and say why (visible in the job's usage view). */
  retryLater(jobId: string, note: string, delaySeconds: number): Promise<void>;
  /** Stops trying: the job stays unaccounted (never billed from a guess), with the reason. */
  giveUp(jobId: string, note: string): Promise<void>;
  /** Marks the job accounted in the transaction open on the call path; false when it already was (another writer won). */
  markAccounted(jobId: string): Promise<boolean>;
  /** Where the owner's job stands for accounting; null when the owner has no such job (another tenant's included). */
  accountingStatus(ownerId: string, jobId: string): Promise<JobAccountingStatus | null>;
}

export interface JobAccountingStatus {
  id: string;
  island: string | null;
  slurm_job_id: string | null;
  ended_at: Date | null;
  accounted_at: Date | null;
  accounting_note: string | null;
  accounting_next_at: Date | null;
}

export const ACCOUNTING_QUEUE = Symbol('ACCOUNTING_QUEUE');
