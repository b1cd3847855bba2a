import type { JobState } from './job-state';

/** How jobs ended, as the chain reporter needs it (the jobs feature answers). */
export interface JobOutcomes {
  /** The exit code of each job that has one (null while unknown); jobs missing from the map do not exist. */
  exitCodes(jobIds: string[]): Promise<Map<string, number | null>>;
  /** Where each job is now (state, SLURM's id once submitted, when it started); jobs missing from the map do not exist. */
  progress(jobIds: string[]): Promise<Map<string, JobProgress>>;
}

export interface JobProgress {
  state: JobState;
  slurmJobId: string | null;
  startedAt: Date | null;
}

export const JOB_OUTCOMES = Symbol('JOB_OUTCOMES');
