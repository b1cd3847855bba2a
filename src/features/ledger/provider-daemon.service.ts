import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { repeatEvery } from '../../core/common/repeat';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import type { ChainConnection } from './chain-connection';
import { CHAIN_CONNECTION } from './ledger-tokens';
import { ProviderDaemon } from './provider-daemon';
import { FORMED_ISLANDS, type FormedIslands } from '../../core/islands/formed-islands';
import { ISLAND_MEMBERSHIP, type IslandMembership } from '../../core/islands/island-membership';

/**
 * Runs a provider-daemon round (islands, offerings, node liveness) every CHAIN_LIVENESS_INTERVAL_MS
 * (30 s: the chain marks a node STALE after 120 s without an update) in the worker, when chain
 * reporting is on. A round that fails (chain down) is logged; the outbox keeps its messages.
 */
@Injectable()
export class ProviderDaemonService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProviderDaemonService.name);
  private stop: (() => void) | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CHAIN_CONNECTION) private readonly connection: ChainConnection | null,
    @Inject(FORMED_ISLANDS) private readonly formed: FormedIslands,
    @Inject(ISLAND_MEMBERSHIP) private readonly membership: IslandMembership,
  ) {}

  onApplicationBootstrap(): void {
    const connection = this.connection;
    if (!connection) return;
    const { usage, chain, ledger } = this.config;
    const daemon = new ProviderDaemon(
      this.db,
      {
        settings: ledger,
        pricesFor: (island) => usage.prices.islands[island] ?? usage.prices.default,
        denom: chain.denom,
      },
      this.formed,
      this.membership,
    );
    this.stop = repeatEvery(
      ledger.livenessIntervalMs,
      async () => daemon.round(await connection.get()),
      (error) => this.logger.warn(`provider daemon round failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
