import { Module } from '@nestjs/common';
import { AccountingService } from './accounting.service';
import { UsageRepository } from './usage.repository';

/** The worker role's accounting: ended jobs → signed usage records in the outbox. */
@Module({ providers: [UsageRepository, AccountingService] })
export class UsageWorkerModule {}
