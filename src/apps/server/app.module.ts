import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AuditModule } from '../../features/audit/audit.module';
import { AuthModule } from '../../features/auth/auth.module';
import { ChainModule } from '../../adapters/chain/chain.module';
import { IdentityModule } from '../../features/identity/identity.module';
import { ClustersModule } from '../../features/islands/islands.module';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG, ConfigModule } from '../../adapters/config/config.module';
import { HealthModule } from '../../features/health/health.module';
import { CapacityModule } from '../../features/jobs/scheduling/capacity.module';
import { MetricsModule } from '../../features/metrics/metrics.module';
import { redisConnection } from '../../adapters/redis/redis';
import { BudgetModule } from '../../features/usage/budget.module';
import { WiringModule } from './wiring.module';

@Module({})
export class AppModule {
  /**
   * The API role serves HTTP; the worker role dispatches and follows; `all` does both in one process.
   * Each role requires only its own modules' code: a worker never loads the HTTP stack (controllers,
   * validation, OpenAPI), so it boots faster and lighter, and the API never loads the dispatcher.
   */
  static async forRole(role: AppConfig['role'], config: AppConfig, dataSource: DataSource): Promise<DynamicModule> {
    const api = role === 'api' || role === 'all';
    const worker = role === 'worker' || role === 'all';
    const roleModules = [
      ...(api ? (await import('./api.modules')).API_MODULES : []),
      ...(worker ? (await import('./worker.modules')).workerModules(config) : []),
    ];
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // The pool main.ts opened to migrate (adapters/postgres/data-source.ts); Nest closes it at shutdown.
        TypeOrmModule.forRootAsync({ useFactory: () => dataSource.options, dataSourceFactory: async () => dataSource }),
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
        ...roleModules,
      ],
    };
  }
}
