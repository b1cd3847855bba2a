import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

export const DISPATCH_QUEUE = 'dispatch';

/** An accept must not hang on a Redis outage: the row is committed, the reconciler catches up. */
const ENQUEUE_TIMEOUT_MS = 1000;

function withTimeout<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface DispatchPayload {
  jobId: string;
}

/**
 * Hands accepted jobs to the dispatch workers. The job row is already committed when this runs,
 * so a failure here loses nothing: the reconciler re-enqueues every job still waiting.
 */
@Injectable()
export class DispatchQueue {
  private readonly logger = new Logger(DispatchQueue.name);

  constructor(@InjectQueue(DISPATCH_QUEUE) private readonly queue: Queue<DispatchPayload>) {}

  async enqueue(jobIds: string[]): Promise<boolean> {
    return this.add(jobIds.map((jobId) => ({ jobId, entryId: `job-${jobId}` })));
  }

  /**
   * For the reconciler: jobs whose entry is missing are added again; jobs whose entry sits
   * "active" (or finished) although no worker holds their lease (a killed worker left it) get a
   * second entry,
   * instead of waiting for BullMQ's stall detection. Queued entries are left alone. A duplicate is
   * harmless: the lease lets only one dispatch through.
   */
  async requeue(jobIds: string[], round: string): Promise<number> {
    const states = await Promise.all(jobIds.map((jobId) => this.queue.getJobState(`job-${jobId}`)));
    const queued = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);
    const entries = jobIds.flatMap((jobId, i) =>
      queued.has(states[i]) ? [] : [{ jobId, entryId: states[i] === 'unknown' ? `job-${jobId}` : `job-${jobId}-${round}` }],
    );
    return entries.length > 0 && (await this.add(entries)) ? entries.length : 0;
  }

  private async add(entries: Array<{ jobId: string; entryId: string }>): Promise<boolean> {
    try {
      await withTimeout(ENQUEUE_TIMEOUT_MS, this.queue.addBulk(
        entries.map(({ jobId, entryId }) => ({
          name: 'dispatch',
          data: { jobId },
          // Our job id as BullMQ's: while one is queued, adding it again is a no-op.
          opts: {
            jobId: entryId,
            attempts: 5,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: true,
            removeOnFail: true,
          },
        })),
      ));
      return true;
    } catch (error) {
      this.logger.warn(`could not enqueue ${entries.length} job(s), the reconciler will: ${(error as Error).message}`);
      return false;
    }
  }

  async depth(): Promise<number> {
    return this.queue.count();
  }
}
