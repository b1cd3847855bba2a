import type { Principal } from '../auth/principal';
import type { MfaProof } from '../identity/mfa-proof';
import type { SubmitInput } from './job-request';
import type { JobRow } from './job-rows';

/** Submitting (and cancelling) a job as POST /v1/jobs does (normalization, gates, budget), for features that import jobs from elsewhere (the chain). */
export interface JobSubmission {
  /** `afterInsert` runs inside the transaction that creates the job, so what it writes commits with the job or not at all. */
  submit(
    principal: Principal,
    input: SubmitInput,
    idempotencyKey: string | null,
    mfa: MfaProof,
    options?: { afterInsert?: (row: JobRow) => Promise<void> },
  ): Promise<unknown>;
  /** Cancelling as DELETE /v1/jobs/:id does (in SLURM when it has the job), as `principal`, who must own it. */
  cancel(principal: Principal, id: string): Promise<unknown>;
}

export const JOB_SUBMISSION = Symbol('JOB_SUBMISSION');
