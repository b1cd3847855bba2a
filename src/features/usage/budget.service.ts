import { Inject, Injectable } from '@nestjs/common';
import type { BudgetState } from '../../core/usage/job-budget';
import { DataSource } from 'typeorm';
import type { Principal } from '../../core/auth/principal';
import { invalid, notFound, Problem } from '../../core/common/problem';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { rows } from '../../adapters/postgres/sql';
import type { JobSpec } from '../../core/sbatch/job-spec';
import { DemandError } from '../../core/placement/job-demand';
import { estimateJobCost, type CostEstimate } from '../../core/usage/cost-estimate';
import type { OfferingPrices } from '../../core/usage/pricing';

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
    private readonly db: DataSource,
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
      const [replay] = await rows(this.db, 'SELECT 1 FROM jobs WHERE owner_id = $1 AND idempotency_key = $2', [ownerId, idempotencyKey]);
      if (replay) return;
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
    const [budget] = await rows<{ monthly_limit: string; denom: string; spent: string }>(
      this.db,
      `SELECT b.monthly_limit::text, b.denom,
              (SELECT coalesce(sum(billed), 0)::text FROM usage_records
                WHERE owner_id = b.principal_id AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS spent
         FROM tenant_budgets b WHERE b.principal_id = $1`,
      [ownerId],
    );
    if (!budget) return null;
    // Not billed yet and will be: every unfinished job, and ended jobs on accounting islands still waiting.
    // A split array is billed through its parts, so only the parts reserve.
    const unbilled = await rows<{ spec: JobSpec }>(
      this.db,
      `SELECT spec FROM jobs
        WHERE owner_id = $1 AND accounted_at IS NULL AND state <> 'REJECTED' AND split_into IS NULL
          AND submitted_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          AND (ended_at IS NULL OR (slurm_job_id IS NOT NULL AND island = ANY($2) AND accounting_next_at IS DISTINCT FROM 'infinity'))`,
      [ownerId, this.accountingIslands],
    );
    const reserved = unbilled.reduce((acc, job) => acc + this.estimate(job.spec).estimate, 0n);
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
    const [principal] = await rows(this.db, 'SELECT 1 FROM principals WHERE id = $1', [principalId]);
    if (!principal) throw notFound(`principal ${principalId}`);
    await this.db.query(
      `INSERT INTO tenant_budgets (principal_id, monthly_limit, denom) VALUES ($1, $2, $3)
       ON CONFLICT (principal_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, denom = EXCLUDED.denom, updated_at = now()`,
      [principalId, monthlyLimit, denom],
    );
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
