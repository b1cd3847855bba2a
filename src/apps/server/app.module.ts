import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../../features/audit/audit.module';
import { AuthModule } from '../../features/auth/auth.module';
import { ChainModule } from '../../adapters/chain/chain.module';
import { IdentityModule } from '../../features/identity/identity.module';
import { WalletLoginModule } from '../../features/auth/wallet-login.module';
import { ClustersModule } from '../../features/islands/islands.module';
import { IslandFormationModule } from '../../features/islands/formation/island-formation.module';
import { LivenessModule } from '../../features/nodes/liveness.module';
import { IslandsApiModule } from '../../features/islands/islands-api.module';
import { NodesModule } from '../../features/nodes/nodes.module';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG, ConfigModule } from '../../adapters/config/config.module';
import { MIGRATIONS } from '../../adapters/postgres/data-source';
import { DispatchWorkerModule } from '../../features/jobs/dispatch/dispatch-worker.module';
import { HealthModule } from '../../features/health/health.module';
import { JobsModule } from '../../features/jobs/jobs.module';
import { CapacityModule } from '../../features/jobs/scheduling/capacity.module';
import { MetricsModule } from '../../features/metrics/metrics.module';
import { redisConnection } from '../../adapters/redis/redis';
import { UsageApiModule } from '../../features/usage/usage-api.module';
import { BudgetModule } from '../../features/usage/budget.module';
import { UsageWorkerModule } from '../../features/usage/usage-worker.module';
import { RateLimitModule } from '../../adapters/http/ratelimit/rate-limit.module';
import { LedgerModule } from '../../features/ledger/ledger.module';
import { WiringModule } from './wiring.module';

@Module({})
export class AppModule {
  /** The API role serves HTTP; the worker role dispatches and follows; `all` does both in one process. */
  static forRole(role: AppConfig['role'], config: AppConfig): DynamicModule {
    const api = role === 'api' || role === 'all';
    const worker = role === 'worker' || role === 'all';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            type: 'postgres',
            url: config.databaseUrl,
            migrations: MIGRATIONS,
            migrationsTableName: 'schema_migrations',
            synchronize: false,
            retryAttempts: 3,
            retryDelay: 1000,
            extra: { max: 20, connectionTimeoutMillis: 5000, statement_timeout: 30000 },
          }),
        }),
        BullModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({ connection: redisConnection(config.redisUrl) }),
        }),
        MetricsModule.forRole(api, worker),
        ClustersModule,
        WiringModule,
        CapacityModule,
        BudgetModule,
        AuditModule,
        AuthModule,
        ChainModule,
        IdentityModule,
        HealthModule,
        ...(api ? [WalletLoginModule, JobsModule, NodesModule, IslandsApiModule, UsageApiModule, RateLimitModule] : []),
        ...(worker ? [DispatchWorkerModule, LivenessModule, UsageWorkerModule, LedgerModule] : []),
        ...(worker && config.topology.launcher !== 'none' ? [IslandFormationModule] : []),
      ],
    };
  }
}
