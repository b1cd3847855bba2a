import { Module } from '@nestjs/common';
import { BudgetService } from './budget.service';

/** Budgets and cost estimates, shared by the jobs API (the gate at submit) and the usage API. */
@Module({ providers: [BudgetService], exports: [BudgetService] })
export class BudgetModule {}
