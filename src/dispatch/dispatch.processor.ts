import { Processor, WorkerHost } from '@nestjs/bullmq';
import { OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { DISPATCH_QUEUE, DispatchPayload, DispatchQueue } from './dispatch.queue';
import { DispatchService } from './dispatch.service';

/** Batches in flight per worker; each batch submits up to the dispatch concurrency at once. */
const BATCHES_IN_FLIGHT = 4;

@Processor(DISPATCH_QUEUE)
export class DispatchProcessor extends WorkerHost implements OnApplicationBootstrap {
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
    const outcome = await this.dispatch.dispatchBatch(job.data.jobIds);
    // Waiting is not failing: jobs that must wait go back to the queue as a new, delayed entry.
    for (const retry of outcome.retry) await this.queue.enqueue(retry.jobIds, retry.afterMs);
  }
}
