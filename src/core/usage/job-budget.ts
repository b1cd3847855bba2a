import type { JobSpec } from '../sbatch/job-spec';
import type { CostEstimate } from './cost-estimate';

export interface BudgetState {
  monthlyLimit: string;
  denom: string;
  /** Billed this UTC month (usage records). */
  spent: string;
  /** Estimates of this month's jobs that are not billed yet (running, or ended and awaiting accounting). */
  reserved: string;
  remaining: string;
}

/** A tenant's monthly budget as the jobs feature consults it at submit and for estimates. */
export interface JobBudget {
  /** Throws a 402/422 problem when the job's worst-case cost does not fit what is left this month. */
  admit(ownerId: string, spec: JobSpec, idempotencyKey: string | null): Promise<void>;
  estimate(spec: JobSpec): CostEstimate;
  state(ownerId: string): Promise<BudgetState | null>;
}

export const JOB_BUDGET = Symbol('JOB_BUDGET');
