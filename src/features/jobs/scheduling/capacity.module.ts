import { Global, Module } from '@nestjs/common';
import { CAPACITY_SOURCE } from '../../../core/placement/capacity-source';
import { JobsModule } from '../jobs.module';
import { CapacityService } from './capacity.service';

/** The islands' live capacity: placement (worker) uses it here, the islands API, metrics and formation through CAPACITY_SOURCE. */
@Global()
@Module({
  imports: [JobsModule],
  providers: [CapacityService, { provide: CAPACITY_SOURCE, useExisting: CapacityService }],
  exports: [CapacityService, CAPACITY_SOURCE],
})
export class CapacityModule {}
