import { Module } from '@nestjs/common';
import { DomainMetrics } from './domain-metrics';
import { MetricsController } from './metrics.controller';

/** GET /metrics with the gauges read from PostgreSQL (API role). */
@Module({ controllers: [MetricsController], providers: [DomainMetrics] })
export class MetricsApiModule {}
