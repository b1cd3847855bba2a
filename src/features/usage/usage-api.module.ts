import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { BudgetModule } from './budget.module';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

/** The API role's usage endpoints: a job's usage record, rewards. */
@Module({ imports: [BudgetModule, JobsModule], controllers: [UsageController], providers: [UsageService] })
export class UsageApiModule {}
