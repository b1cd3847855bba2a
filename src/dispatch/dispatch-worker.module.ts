import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { DispatchActivity } from './dispatch-activity';
import { DispatchQueueModule } from './dispatch-queue.module';
import { DispatchProcessor } from './dispatch.processor';
import { DispatchRepository } from './dispatch.repository';
import { DispatchService } from './dispatch.service';
import { FollowService } from './follow.service';
import { ReconcilerService } from './reconciler.service';
import { CapacityService } from '../scheduling/capacity.service';

/** The worker role: dispatch processors, island followers and the reconciler. */
@Module({
  imports: [DispatchQueueModule, JobsModule],
  providers: [CapacityService, DispatchActivity, DispatchProcessor, DispatchService, DispatchRepository, FollowService, ReconcilerService],
})
export class DispatchWorkerModule {}
