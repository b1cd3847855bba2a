import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DispatchQueue } from './dispatch.queue';
import { DispatchRepository } from './dispatch.repository';

const BATCH = 1000;

/**
 * PostgreSQL is the source of truth and Redis only a work list: on start and then periodically,
 * every job that is waiting for dispatch but not leased is put (back) in the queue. This is what
 * recovers from a lost enqueue, a flushed Redis or a killed worker.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcilerService.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dispatch: DispatchRepository,
    private readonly queue: DispatchQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => {
      this.reconcile()
        .catch((error) => this.logger.warn(`reconcile failed: ${(error as Error).message}`))
        .finally(() => {
          this.timer = setTimeout(run, this.config.dispatch.reconcileIntervalMs);
        });
    };
    run();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async reconcile(): Promise<number> {
    const ageSeconds = Math.max(1, Math.floor(this.config.dispatch.reconcileIntervalMs / 1000));
    let total = 0;
    let after = '0';
    const round = `r${Date.now()}`;
    for (;;) {
      const ids = await this.dispatch.waiting(ageSeconds, after, BATCH);
      if (ids.length === 0) break;
      total += await this.queue.requeue(ids, round);
      after = ids[ids.length - 1];
      if (ids.length < BATCH) break;
    }
    if (total > 0) this.logger.log(`re-enqueued ${total} job(s) waiting for dispatch`);
    return total;
  }
}
