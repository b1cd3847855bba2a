import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { repeatEvery } from '../../../core/common/repeat';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { BATCH_SIZE, DispatchQueue } from './dispatch.queue';
import { JobsRepository } from '../jobs.repository';

/** While the queue has a backlog, accepted jobs are probably in it: wait this many intervals before doubting. */
const BUSY_PATIENCE = 5;

/**
 * PostgreSQL is the source of truth and Redis only a work list: on start and then periodically,
 * jobs waiting for dispatch without a live lease are put (back) in the queue. This is what
 * recovers from a lost enqueue, a flushed Redis or a killed worker (whose leases run out).
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcilerService.name);
  private stop: (() => void) | null = null;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly queue: DispatchQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = repeatEvery(
      this.config.dispatch.reconcileIntervalMs,
      () => this.reconcile(),
      (error) => this.logger.warn(`reconcile failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  async reconcile(): Promise<number> {
    const intervalSeconds = Math.max(1, Math.ceil(this.config.dispatch.reconcileIntervalMs / 1000));
    const busy = (await this.queue.backlog()) > 0;
    const acceptedAge = busy ? intervalSeconds * BUSY_PATIENCE : intervalSeconds;
    let total = 0;
    let after = '0';
    for (;;) {
      const ids = await this.jobs.waiting(acceptedAge, after, BATCH_SIZE * 5);
      if (ids.length === 0) break;
      if (!(await this.queue.enqueue(ids))) break;
      total += ids.length;
      after = ids[ids.length - 1];
      if (ids.length < BATCH_SIZE * 5) break;
    }
    if (total > 0) this.logger.log(`re-enqueued ${total} job(s) waiting for dispatch`);
    return total;
  }
}
