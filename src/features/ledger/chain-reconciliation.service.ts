import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CHAIN_CLIENT, type ChainQueries } from '../../adapters/chain/chain-port';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { Metrics } from '../../adapters/metrics/metrics';
import { onePassUnderLock } from '../../adapters/postgres/advisory-lock';
import { repeatEvery } from '../../core/common/repeat';
import { REPORTED_USAGE, type ReportedUsageSource } from '../../core/usage/reported-usage';
import type { ChainConnection } from './chain-connection';
import { ChainReconciler } from './chain-reconciliation';
import { ChainReconciliationRepository, RECONCILE_OUTCOMES } from './chain-reconciliation.repository';
import { CHAIN_CONNECTION } from './ledger-tokens';

/** One reconciliation pass at a time across every worker. */
const RECONCILE_LOCK = 7_649_000_002;

/**
 * Every CHAIN_RECONCILE_INTERVAL_MS (10 min; 0 = off) in the worker, when chain reporting is on:
 * compares what we reported with what the chain holds (ChainReconciler), keeps each record's
 * finding in `chain_reconciliation`, sets archipelago_chain_reconciliation{outcome} and logs the
 * counts when anything is not `matched`.
 */
@Injectable()
export class ChainReconciliationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChainReconciliationService.name);
  private stop: (() => void) | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CHAIN_CONNECTION) private readonly connection: ChainConnection | null,
    @Inject(CHAIN_CLIENT) private readonly chain: ChainQueries | null,
    @Inject(REPORTED_USAGE) private readonly reported: ReportedUsageSource,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.ledger.reconcileIntervalMs;
    if (!this.connection || !this.chain || interval === 0) return;
    const reconciler = new ChainReconciler(this.db, new ChainReconciliationRepository(this.db), this.chain, this.reported);
    this.stop = repeatEvery(
      interval,
      async () => {
        const counts = await onePassUnderLock(this.db, RECONCILE_LOCK, () => reconciler.pass());
        if (!counts) return;
        for (const outcome of RECONCILE_OUTCOMES) this.metrics.chainReconciliation.set({ outcome }, counts[outcome]);
        const off = RECONCILE_OUTCOMES.filter((o) => o !== 'matched' && counts[o] > 0);
        if (off.length)
          this.logger.warn(`chain reconciliation: ${RECONCILE_OUTCOMES.map((o) => `${counts[o]} ${o}`).join(', ')} (details: chain_reconciliation)`);
      },
      (error) => this.logger.warn(`chain reconciliation pass failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
