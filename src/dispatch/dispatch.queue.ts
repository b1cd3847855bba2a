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

  /**
   * `round` distinguishes a reconciler's re-enqueue from the original: an entry a killed worker
   * left "active" in Redis would otherwise swallow it until BullMQ's stall detection. A duplicate
   * is harmless: the lease lets only one dispatch through.
   */
  async enqueue(jobIds: string[], round?: string): Promise<boolean> {
    try {
      await withTimeout(ENQUEUE_TIMEOUT_MS, this.queue.addBulk(
        jobIds.map((jobId) => ({
          name: 'dispatch',
          data: { jobId },
          // Our job id as BullMQ's: while one is queued, adding it again is a no-op.
          opts: {
            jobId: round ? `job-${jobId}-${round}` : `job-${jobId}`,
            attempts: 5,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: true,
            removeOnFail: true,
          },
        })),
      ));
      return true;
    } catch (error) {
      this.logger.warn(`could not enqueue ${jobIds.length} job(s), the reconciler will: ${(error as Error).message}`);
      return false;
    }
  }

  async depth(): Promise<number> {
    return this.queue.count();
  }
}
