import { DynamicModule, Global, Module } from '@nestjs/common';
import { Metrics } from '../../adapters/metrics/metrics';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * Prometheus metrics. Every role records into one per-process registry (Metrics, global so the
 * islands registry and dispatch can reach it). The API serves it at GET /metrics together with
 * the gauges read from PostgreSQL (MetricsApiModule); the worker serves it on its own METRICS_PORT listener.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRole(api: boolean, worker: boolean): DynamicModule {
    return {
      module: MetricsModule,
      providers: [Metrics, ...(worker && !api ? [WorkerMetricsServer] : [])],
      exports: [Metrics],
    };
  }
}
