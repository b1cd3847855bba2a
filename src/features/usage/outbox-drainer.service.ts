import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { repeatEvery } from '../../core/common/repeat';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { OutboxDrainer } from './outbox-drainer';
import { USAGE_REPORTER, type UsageReporter } from '../../core/usage/usage-reporter.port';

/** Drains the usage outbox in the worker when a UsageReporter is bound (the chain reporter); dormant otherwise. */
@Injectable()
export class OutboxDrainerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxDrainerService.name);
  private stop: (() => void) | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(USAGE_REPORTER) private readonly reporter: UsageReporter | null,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.reporter) return;
    const drainer = new OutboxDrainer(this.db, this.reporter);
    this.stop = repeatEvery(
      this.config.usage.intervalMs,
      async () => {
        while ((await drainer.drainOnce()) > 0) {
          // keep going while there is a backlog
        }
      },
      (error) => this.logger.warn(`draining the usage outbox failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
