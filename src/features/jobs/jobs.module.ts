import { Module } from '@nestjs/common';
import { DispatchQueueModule } from './dispatch/dispatch-queue.module';
import { JobAccountingRepository } from './job-accounting.repository';
import { JobFactsRepository } from './job-facts.repository';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

/** The jobs feature's logic and table, for its API (JobsApiModule), the dispatcher and the wiring of other features. */
@Module({
  imports: [DispatchQueueModule],
  providers: [JobsService, JobsRepository, JobAccountingRepository, JobFactsRepository],
  exports: [JobsRepository, JobsService, JobAccountingRepository, JobFactsRepository],
})
export class JobsModule {}
