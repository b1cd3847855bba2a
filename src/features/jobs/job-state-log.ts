import { Logger } from '@nestjs/common';

/** One change of a job's state, as the statement that made it returns it. */
export interface StateChangeRecord {
  job_id: string;
  from_state: string | null;
  to_state: string;
  reason: string | null;
}

const logger = new Logger('job-state');

/**
 * One structured log line per job state change (`context: "job-state"`, `jobId`, `from`, `to`,
 * `reason`), written by whichever process made the change once its statement returned: operators
 * follow a job through the logs without querying its events.
 */
export function logStateChanges(changes: readonly StateChangeRecord[]): void {
  for (const change of changes) {
    const jobId = String(change.job_id);
    logger.log({
      msg: `job ${jobId}: ${change.from_state ?? 'new'} -> ${change.to_state}`,
      event: 'job_state_change',
      jobId,
      from: change.from_state,
      to: change.to_state,
      reason: change.reason,
    });
  }
}
