import { Global, Module } from '@nestjs/common';
import { HealthService } from './health.service';
import { ReadinessRegistry } from '../../adapters/readiness/readiness-registry';

/** Global so any module can register a readiness check (ReadinessRegistry); served over HTTP by HealthApiModule. */
@Global()
@Module({ providers: [HealthService, ReadinessRegistry], exports: [HealthService, ReadinessRegistry] })
export class HealthModule {}
