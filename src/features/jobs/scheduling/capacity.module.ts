import { Global, Module } from '@nestjs/common';
import { CAPACITY_SOURCE } from '../../../core/placement/capacity-source';
import { DispatchRepository } from '../dispatch/dispatch.repository';
import { CapacityService } from './capacity.service';

/** The islands' live capacity: placement (worker) uses it here, the islands API, metrics and formation through CAPACITY_SOURCE. */
@Global()
@Module({
  providers: [CapacityService, DispatchRepository, { provide: CAPACITY_SOURCE, useExisting: CapacityService }],
  exports: [CapacityService, DispatchRepository, CAPACITY_SOURCE],
})
export class CapacityModule {}
