import { Module } from '@nestjs/common';
import { DispatchQueueModule } from '../dispatch/dispatch-queue.module';
import { BudgetModule } from '../usage/budget.module';
import { CapacityModule } from '../scheduling/capacity.module';
import { JobsController } from './jobs.controller';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

@Module({
  imports: [DispatchQueueModule, BudgetModule, CapacityModule],
  controllers: [JobsController],
  providers: [JobsService, JobsRepository],
  exports: [JobsRepository, JobsService],
})
export class JobsModule {}
