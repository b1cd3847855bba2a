/** A usage record the chain took (its terminal report committed), as reconciliation compares it. */
export interface ReportedUsage {
  recordId: string;
  jobId: string;
  /** Our terminal state (the signed record's). */
  state: string;
  contentHash: string;
  /** What the record billed, in `denom` (integer text). */
  billed: string;
  denom: string;
}

/** The usage records committed on chain, for reconciling them against the chain's own records (the usage feature answers). */
export interface ReportedUsageSource {
  /** Up to `limit` records with an id above `afterRecordId`, in id order. */
  committedOnChain(afterRecordId: string, limit: number): Promise<ReportedUsage[]>;
}

export const REPORTED_USAGE = Symbol('REPORTED_USAGE');
