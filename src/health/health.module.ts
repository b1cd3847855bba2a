import { Module } from '@nestjs/common';
import { DispatchQueueModule } from '../dispatch/dispatch-queue.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({ imports: [DispatchQueueModule], controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
