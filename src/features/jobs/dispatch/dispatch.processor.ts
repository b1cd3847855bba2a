import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { DISPATCH_QUEUE, DispatchPayload, DispatchQueue } from './dispatch.queue';
import { DispatchService } from './dispatch.service';

/** Batches in flight per worker; each batch submits up to the dispatch concurrency at once. */
const BATCHES_IN_FLIGHT = 4;

@Processor(DISPATCH_QUEUE)
export class DispatchProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(DispatchProcessor.name);

  constructor(
    private readonly dispatch: DispatchService,
    private readonly queue: DispatchQueue,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = BATCHES_IN_FLIGHT;
  }

  async process(job: Job<DispatchPayload>): Promise<void> {
    let outcome;
    try {
      outcome = await this.dispatch.dispatchBatch(job.data.jobIds);
    } catch (error) {
      // BullMQ retries the entry (and the reconciler re-enqueues after the lease): say why it failed.
      this.logger.error(`dispatch batch of ${job.data.jobIds.length} job(s) failed (attempt ${job.attemptsMade + 1}): ${(error as Error).stack}`);
      throw error;
    }
    // Waiting is not failing: jobs that must wait go back to the queue as a new, delayed entry.
    for (const retry of outcome.retry) await this.queue.enqueue(retry.jobIds, retry.afterMs);
  }
}
