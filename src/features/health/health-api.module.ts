import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** /health/live and /health/ready (API role); the checks themselves are HealthModule's. */
@Module({ controllers: [HealthController] })
export class HealthApiModule {}
