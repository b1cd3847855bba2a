/** How jobs ended, as the chain reporter needs it (the jobs feature answers). */
export interface JobOutcomes {
  /** The exit code of each job that has one (null while unknown); jobs missing from the map do not exist. */
  exitCodes(jobIds: string[]): Promise<Map<string, number | null>>;
}

export const JOB_OUTCOMES = Symbol('JOB_OUTCOMES');
