import { Module } from '@nestjs/common';
import { AccountingService } from './accounting.service';
import { OutboxDrainerService } from './outbox-drainer.service';
import { UsageDataModule } from './usage-data.module';

/**
 * The worker role's accounting: ended jobs → signed usage records in the outbox, and the outbox
 * drained through a UsageReporter once one is bound to USAGE_REPORTER (the chain reporter).
 */
@Module({ imports: [UsageDataModule], providers: [AccountingService, OutboxDrainerService] })
export class UsageWorkerModule {}
