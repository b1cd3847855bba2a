import { Module } from '@nestjs/common';
import { DispatchRepository } from '../jobs/dispatch/dispatch.repository';
import { CapacityService } from './capacity.service';

/** The islands' live capacity, shared by placement (worker) and the islands API. */
@Module({ providers: [CapacityService, DispatchRepository], exports: [CapacityService, DispatchRepository] })
export class CapacityModule {}
