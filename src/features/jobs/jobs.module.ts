import { Module } from '@nestjs/common';
import { DispatchQueueModule } from './dispatch/dispatch-queue.module';
import { JobsController } from './jobs.controller';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

@Module({
  imports: [DispatchQueueModule],
  controllers: [JobsController],
  providers: [JobsService, JobsRepository],
  exports: [JobsRepository, JobsService],
})
export class JobsModule {}
