import { Module } from '@nestjs/common';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';
import { UsageDataModule } from './usage-data.module';

/** The API role's usage endpoints: a job's usage record, rewards. */
@Module({ imports: [UsageDataModule], controllers: [UsageController], providers: [UsageService] })
export class UsageApiModule {}
