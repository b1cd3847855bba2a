import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ReadinessRegistry } from '../../adapters/readiness/readiness-registry';

/** Global so any module can register a readiness check (ReadinessRegistry). */
@Global()
@Module({ controllers: [HealthController], providers: [HealthService, ReadinessRegistry], exports: [ReadinessRegistry] })
export class HealthModule {}
