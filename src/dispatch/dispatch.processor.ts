import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DISPATCH_QUEUE, DispatchPayload } from './dispatch.queue';
import { DispatchService } from './dispatch.service';

@Processor(DISPATCH_QUEUE)
export class DispatchProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly dispatch: DispatchService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.dispatch.concurrency;
  }

  async process(job: Job<DispatchPayload>, token?: string): Promise<void> {
    const outcome = await this.dispatch.dispatchJob(job.data.jobId);
    if (outcome.kind === 'retry') {
      // Waiting is not failing: the job goes back to the delayed set without using up attempts.
      await job.moveToDelayed(Date.now() + outcome.afterMs, token);
      throw new DelayedError(outcome.reason);
    }
  }
}
