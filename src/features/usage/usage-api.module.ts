import { Module } from '@nestjs/common';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

/** The API role's usage endpoints: a job's usage record, rewards. */
@Module({ controllers: [UsageController], providers: [UsageService] })
export class UsageApiModule {}
