import { Global, Module } from '@nestjs/common';
import { JOB_BUDGET } from '../../core/usage/job-budget';
import { BudgetService } from './budget.service';
import { BudgetsRepository } from './budgets.repository';

/** Budgets and cost estimates: the usage API here, the jobs feature (the gate at submit, estimates) through JOB_BUDGET. */
@Global()
@Module({ providers: [BudgetService, BudgetsRepository, { provide: JOB_BUDGET, useExisting: BudgetService }], exports: [BudgetService, JOB_BUDGET] })
export class BudgetModule {}
