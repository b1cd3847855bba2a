import { Global, Inject, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { VirtEngineChainClient } from '../../adapters/chain/chain-client';
import { CHAIN_CLIENT } from '../../adapters/chain/chain-port';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { USAGE_REPORTER } from '../../core/usage/usage-reporter.port';
import { ChainConnection } from './chain-connection';
import { ChainUsageReporter } from './chain-usage-reporter';
import { CHAIN_CONNECTION } from './ledger-tokens';
import { ProviderDaemonService } from './provider-daemon.service';
import { ChainIngressService } from './chain-ingress.service';
import { ChainReconciliationService } from './chain-reconciliation.service';
import { JOB_OUTCOMES, type JobOutcomes } from '../../core/jobs/job-outcomes';

/**
 * The worker's chain reporting (usage reports through the usage outbox; islands, offerings and node
 * liveness through the provider daemon), on when both CHAIN_RPC_URL and CHAIN_PROVIDER_KEY_FILE are set
 * (the RPC URL alone serves identity gates, which only read); chain ingress imports the jobs
 * customers submit on chain for our islands (CHAIN_INGRESS_INTERVAL_MS, 0 = off). Global so that
 * USAGE_REPORTER reaches the usage worker's outbox drainer, which stays idle while it is null.
 */
@Global()
@Module({
  providers: [
    {
      provide: CHAIN_CONNECTION,
      inject: [APP_CONFIG, CHAIN_CLIENT, DataSource],
      useFactory: (config: AppConfig, client: VirtEngineChainClient | null, db: DataSource) =>
        client && config.ledger.providerKey ? new ChainConnection(client, config, db) : null,
    },
    {
      provide: USAGE_REPORTER,
      inject: [CHAIN_CONNECTION, CHAIN_CLIENT, DataSource, JOB_OUTCOMES],
      useFactory: (connection: ChainConnection | null, client: VirtEngineChainClient | null, db: DataSource, jobs: JobOutcomes) =>
        connection && client ? new ChainUsageReporter(db, client, () => connection.get(), jobs) : null,
    },
    ProviderDaemonService,
    ChainIngressService,
    ChainReconciliationService,
  ],
  exports: [USAGE_REPORTER, CHAIN_CONNECTION],
})
export class LedgerModule implements OnApplicationBootstrap {
  private readonly logger = new Logger(LedgerModule.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CHAIN_CONNECTION) private readonly connection: ChainConnection | null,
  ) {}

  onApplicationBootstrap(): void {
    if (this.connection) this.logger.log(`reporting to chain ${this.config.chain.chainId} as the provider daemon of our islands`);
    else if (this.config.chain.rpcUrl) this.logger.warn('CHAIN_RPC_URL is set but CHAIN_PROVIDER_KEY_FILE is not: nothing is reported on chain');
  }
}
