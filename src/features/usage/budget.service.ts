import { Inject, Injectable } from '@nestjs/common';
import type { BudgetState } from '../../core/usage/job-budget';
import type { Principal } from '../../core/auth/principal';
import { invalid, notFound, Problem } from '../../core/common/problem';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { BudgetsRepository } from './budgets.repository';
import { BILLABLE_JOBS, type BillableJobs } from '../../core/usage/billable-jobs';
import type { JobSpec } from '../../core/sbatch/job-spec';
import { DemandError } from '../../core/placement/job-demand';
import { estimateJobCost, type CostEstimate } from '../../core/usage/cost-estimate';
import type { OfferingPrices } from '../../core/usage/pricing';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from '../../core/auth/principal-directory';

const UNBUDGETED_TTL_MS = 2000;
const UNBUDGETED_CACHE_SIZE = 100_000;

/**
 * Per-tenant monthly budgets. A submit is refused (402) when this month's bills, plus the
 * estimates of the tenant's jobs not billed yet, plus this job's estimate exceed the limit. The
 * check and the insert are not one transaction: parallel submits can overshoot by the jobs in flight.
 * A tenant without a budget costs one primary-key lookup per UNBUDGETED_TTL_MS; one with a budget also has its
 * unbilled jobs re-estimated (fine for hundreds; a stored estimate per job would scale further).
 */
@Injectable()
export class BudgetService {
  private readonly priceLists: OfferingPrices[];
  private readonly accountingIslands: string[];

  /**
   * Tenants found without a budget, until when that answer is trusted: most tenants have none, and
   * this spares their every submit a query. A budget set through another API process therefore
   * applies to new submissions within UNBUDGETED_TTL_MS (this process: at once).
   */
  private readonly unbudgetedUntil = new Map<string, number>();

  constructor(
    private readonly budgets: BudgetsRepository,
    @Inject(BILLABLE_JOBS) private readonly jobs: BillableJobs,
    @Inject(PRINCIPAL_DIRECTORY) private readonly principals: Pick<PrincipalDirectory, 'identity'>,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.priceLists = [config.usage.prices.default, ...Object.values(config.usage.prices.islands)];
    this.accountingIslands = config.islands.filter((i) => i.accounting).map((i) => i.connection.name);
  }

  estimate(spec: JobSpec): CostEstimate {
    try {
      return estimateJobCost(spec, this.priceLists);
    } catch (error) {
      if (error instanceof DemandError) throw invalid('options', error.message);
      throw error;
    }
  }

  /** Throws a 402 problem when the job would take its owner over budget; a replayed idempotent submit is never refused. */
  async admit(ownerId: string, spec: JobSpec, idempotencyKey: string | null): Promise<void> {
    if ((this.unbudgetedUntil.get(ownerId) ?? 0) > Date.now()) return;
    const state = await this.state(ownerId);
    if (!state) {
      this.rememberUnbudgeted(ownerId);
      return;
    }
    if (idempotencyKey !== null) {
      if (await this.jobs.submittedUnder(ownerId, idempotencyKey)) return;
    }
    const { estimate, denom } = this.estimate(spec);
    if (denom !== state.denom) throw new Problem(409, 'Conflict', `the budget is in ${state.denom} but jobs are priced in ${denom}`, { field: 'budget' });
    if (estimate > BigInt(state.remaining)) {
      throw new Problem(
        402,
        'Budget exceeded',
        `this job may cost up to ${estimate} ${denom} but only ${state.remaining} ${denom} of the monthly budget is left (${state.spent} billed, ${state.reserved} reserved by unbilled jobs)`,
        { field: 'budget', estimate: estimate.toString(), ...state },
      );
    }
  }

  private rememberUnbudgeted(ownerId: string): void {
    if (this.unbudgetedUntil.size >= UNBUDGETED_CACHE_SIZE) this.unbudgetedUntil.clear();
    this.unbudgetedUntil.set(ownerId, Date.now() + UNBUDGETED_TTL_MS);
  }

  async state(ownerId: string): Promise<BudgetState | null> {
    const budget = await this.budgets.withSpent(ownerId);
    if (!budget) return null;
    const unbilled = await this.jobs.unbilledSpecs(ownerId, this.accountingIslands);
    const reserved = unbilled.reduce((acc, spec) => acc + this.estimate(spec).estimate, 0n);
    const remaining = BigInt(budget.monthly_limit) - BigInt(budget.spent) - reserved;
    return {
      monthlyLimit: budget.monthly_limit,
      denom: budget.denom,
      spent: budget.spent,
      reserved: reserved.toString(),
      remaining: (remaining > 0n ? remaining : 0n).toString(),
    };
  }

  async setBudget(principalId: string, monthlyLimit: string, denom: string): Promise<BudgetState> {
    if (!(await this.principals.identity(principalId))) throw notFound(`principal ${principalId}`);
    await this.budgets.set(principalId, monthlyLimit, denom);
    this.unbudgetedUntil.delete(principalId);
    return (await this.state(principalId))!;
  }

  /** A platform admin, or the principal itself. */
  async view(principal: Principal, principalId: string): Promise<BudgetState | { budget: null }> {
    const admin = principal.kind === 'platform_admin' && principal.scopes.has('admin');
    if (!admin && principal.id !== principalId) throw notFound(`principal ${principalId}`);
    return (await this.state(principalId)) ?? { budget: null };
  }
}
