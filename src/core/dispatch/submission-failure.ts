import { InvalidSlurmUserError } from '../slurm/posix-user';
import { SlurmRejectedError, SlurmUnavailableError, SubmissionImpossibleError } from '../slurm/slurm-client.port';

/**
 * What a failed submission means for its job, and when to try again. Pure: no I/O.
 *
 *   rejected    SLURM refused the request itself (partition, limits, options)      → REJECTED
 *   impossible  the island can never run it as submitted (account, directory)      → FAILED
 *   transient   SLURM or the island could not be reached or answered nothing useful → retried with
 *               exponential backoff, at most `maxAttempts` submissions, then FAILED with the last reason
 *
 * Anything unexpected counts as transient: the cap ends it, so no job retries forever.
 */
export type SubmissionFailure =
  | { kind: 'rejected'; reason: string }
  | { kind: 'impossible'; reason: string }
  | { kind: 'transient'; reason: string; unreachable: boolean; settlesAt?: number };

export function classifySubmissionFailure(error: unknown): SubmissionFailure {
  if (error instanceof SlurmRejectedError) return { kind: 'rejected', reason: `SLURM refused the job: ${error.message}` };
  if (error instanceof SubmissionImpossibleError || error instanceof InvalidSlurmUserError) return { kind: 'impossible', reason: error.message };
  if (error instanceof SlurmUnavailableError) {
    return { kind: 'transient', reason: error.message, unreachable: true, ...(error.settlesAt ? { settlesAt: error.settlesAt } : {}) };
  }
  return { kind: 'transient', reason: error instanceof Error ? error.message : String(error), unreachable: false };
}

export interface RetryPolicy {
  /** Delay after the first failed submission; doubled after each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Submissions made at most; after the last one fails the job ends FAILED. */
  maxAttempts: number;
}

export type RetryDecision = { retry: true; afterMs: number } | { retry: false };

/** After `attempts` failed submissions (1 for the first): wait and try again, or give up. */
export function nextSubmitRetry(attempts: number, policy: RetryPolicy): RetryDecision {
  if (attempts >= policy.maxAttempts) return { retry: false };
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  return { retry: true, afterMs: Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent) };
}

/** The reason a job that ran out of attempts ends with. */
export function gaveUpReason(attempts: number, lastReason: string | null): string {
  return `gave up after ${attempts} failed submission attempt${attempts === 1 ? '' : 's'}${lastReason ? `; last: ${lastReason}` : ''}`;
}
