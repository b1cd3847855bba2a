import { Module } from '@nestjs/common';
import { DispatchQueueModule } from './dispatch/dispatch-queue.module';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

/** The jobs feature's logic and table, for its API (JobsApiModule), the dispatcher and the wiring of other features. */
@Module({
  imports: [DispatchQueueModule],
  providers: [JobsService, JobsRepository],
  exports: [JobsRepository, JobsService],
})
export class JobsModule {}
