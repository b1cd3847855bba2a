import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs.module';
import { DispatchActivity } from './dispatch-activity';
import { DispatchQueueModule } from './dispatch-queue.module';
import { DispatchProcessor } from './dispatch.processor';
import { DispatchService } from './dispatch.service';
import { FollowService } from './follow.service';
import { ReconcilerService } from './reconciler.service';
import { CapacityModule } from '../scheduling/capacity.module';

/** The worker role: dispatch processors, island followers and the reconciler. */
@Module({
  imports: [DispatchQueueModule, JobsModule, CapacityModule],
  providers: [DispatchActivity, DispatchProcessor, DispatchService, FollowService, ReconcilerService],
})
export class DispatchWorkerModule {}
