import { DynamicModule, Global, Module } from '@nestjs/common';
import { DomainMetrics } from './domain-metrics';
import { Metrics } from '../../adapters/metrics/metrics';
import { MetricsController } from './metrics.controller';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * Prometheus metrics. Every role records into one per-process registry (Metrics, global so the
 * islands registry and dispatch can reach it). The API serves it at GET /metrics together with
 * the gauges read from PostgreSQL; the worker serves it on its own METRICS_PORT listener.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRole(api: boolean, worker: boolean): DynamicModule {
    return {
      module: MetricsModule,
      controllers: api ? [MetricsController] : [],
      providers: [Metrics, ...(api ? [DomainMetrics] : []), ...(worker && !api ? [WorkerMetricsServer] : [])],
      exports: [Metrics],
    };
  }
}
