import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ChainModule } from './chain/chain.module';
import { IdentityModule, WalletLoginModule } from './identity/identity.module';
import { ClustersModule } from './clusters/clusters.module';
import { IslandFormationModule } from './clusters/formation/island-formation.module';
import { LivenessModule } from './clusters/liveness.module';
import { IslandsApiModule } from './clusters/islands-api.module';
import { NodesModule } from './clusters/nodes.module';
import type { AppConfig } from './config/config';
import { APP_CONFIG, ConfigModule } from './config/config.module';
import { MIGRATIONS } from './db/data-source';
import { DispatchWorkerModule } from './dispatch/dispatch-worker.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { redisConnection } from './common/redis';
import { UsageApiModule } from './usage/usage-api.module';
import { UsageWorkerModule } from './usage/usage-worker.module';
import { RateLimitModule } from './ratelimit/rate-limit.module';
import { LedgerModule } from './ledger/ledger.module';

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
