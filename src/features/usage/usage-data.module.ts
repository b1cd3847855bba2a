import { Module } from '@nestjs/common';
import { UsageRepository } from './usage.repository';

/** The usage feature's records and outbox, for its worker and for the metrics' named queries. */
@Module({ providers: [UsageRepository], exports: [UsageRepository] })
export class UsageDataModule {}
