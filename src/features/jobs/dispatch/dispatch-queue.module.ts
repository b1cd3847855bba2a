import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { DISPATCH_QUEUE, DispatchQueue } from './dispatch.queue';

@Module({
  imports: [BullModule.registerQueue({ name: DISPATCH_QUEUE })],
  providers: [DispatchQueue],
  exports: [DispatchQueue, BullModule],
})
export class DispatchQueueModule {}
