import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/adapters/config/config';
import { usageSettings } from '../../src/adapters/config/usage-settings';
import type { Principal } from '../../src/core/auth/principal';
import { Problem } from '../../src/core/common/problem';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import type { BillableJobs } from '../../src/core/usage/billable-jobs';
import { BudgetService } from '../../src/features/usage/budget.service';
import type { BudgetsRepository } from '../../src/features/usage/budgets.repository';

/** Budgets and the month's bills in memory (BudgetsRepository's answers). */
class InMemoryBudgets {
  budgets = new Map<string, { monthly_limit: string; denom: string }>();
  spent = new Map<string, bigint>();
  lookups = 0;

  async withSpent(principalId: string) {
    this.lookups++;
    const budget = this.budgets.get(principalId);
    return budget ? { ...budget, spent: String(this.spent.get(principalId) ?? 0n) } : null;
  }

  async set(principalId: string, monthlyLimit: string, denom: string): Promise<void> {
    this.budgets.set(principalId, { monthly_limit: monthlyLimit, denom });
  }
}

/** The jobs feature's named queries for budgets, over a list of jobs. */
class InMemoryBillableJobs implements BillableJobs {
  jobs: Array<{ owner: string; key: string | null; spec: JobSpec; billed: boolean }> = [];

  async submittedUnder(ownerId: string, idempotencyKey: string): Promise<boolean> {
    return this.jobs.some((j) => j.owner === ownerId && j.key === idempotencyKey);
  }

  async unbilledSpecs(ownerId: string): Promise<JobSpec[]> {
    return this.jobs.filter((j) => j.owner === ownerId && !j.billed).map((j) => j.spec);
  }
}

const HOUR_JOB: JobSpec = { ntasks: 1, cpusPerTask: 1, timeLimitMinutes: 60, memPerNodeMb: 1024 } as JobSpec;

function setUp() {
  const budgets = new InMemoryBudgets();
  const jobs = new InMemoryBillableJobs();
  const config = { usage: usageSettings({}), islands: [] } as unknown as AppConfig;
  const principals = { identity: async (id: string) => (['alice', 'bob'].includes(id) ? { name: id, chainAddress: null } : null) };
  const service = new BudgetService(budgets as unknown as BudgetsRepository, jobs, principals, config);
  return { budgets, jobs, service, price: service.estimate(HOUR_JOB) };
}

const status = (code: number) => (error: unknown) => error instanceof Problem && error.status === code;

describe('BudgetService (in-memory budgets and jobs)', () => {
  it('admits what fits; refuses (402) what would pass the limit counting bills and unbilled jobs', async () => {
    const { budgets, jobs, service, price } = setUp();
    const one = price.estimate;
    await service.setBudget('alice', String(3n * one), price.denom);
    budgets.spent.set('alice', one);
    jobs.jobs.push({ owner: 'alice', key: null, spec: HOUR_JOB, billed: false });
    await service.admit('alice', HOUR_JOB, null);
    jobs.jobs.push({ owner: 'alice', key: null, spec: HOUR_JOB, billed: false });
    await assert.rejects(service.admit('alice', HOUR_JOB, null), (e: unknown) => status(402)(e) && (e as Problem).extras.remaining === '0');
    assert.deepEqual(await service.state('alice'), {
      monthlyLimit: String(3n * one),
      denom: price.denom,
      spent: String(one),
      reserved: String(2n * one),
      remaining: '0',
    });
  });

  it('never refuses the replay of a submission it accepted (same Idempotency-Key)', async () => {
    const { jobs, service, price } = setUp();
    await service.setBudget('alice', '0', price.denom);
    jobs.jobs.push({ owner: 'alice', key: 'k-1', spec: HOUR_JOB, billed: false });
    await service.admit('alice', HOUR_JOB, 'k-1');
    await assert.rejects(service.admit('alice', HOUR_JOB, 'k-2'), status(402));
  });

  it('a budget in another denomination is a conflict, an unknown principal a 404', async () => {
    const { service } = setUp();
    await service.setBudget('bob', '1000000', 'uother');
    await assert.rejects(service.admit('bob', HOUR_JOB, null), status(409));
    await assert.rejects(service.setBudget('nobody', '1', 'uvirt'), status(404));
  });

  it('tenants without a budget cost one lookup per cache period, and a budget set here applies at once', async () => {
    const { budgets, service, price } = setUp();
    for (let i = 0; i < 5; i++) await service.admit('alice', HOUR_JOB, null);
    assert.equal(budgets.lookups, 1);
    await service.setBudget('alice', '0', price.denom);
    await assert.rejects(service.admit('alice', HOUR_JOB, null), status(402));
  });

  it('shows a budget to its principal and to platform admins only', async () => {
    const { service, price } = setUp();
    await service.setBudget('alice', '5', price.denom);
    const as = (id: string, kind: Principal['kind'], scopes: string[]) => ({ id, kind, scopes: new Set(scopes) }) as unknown as Principal;
    assert.equal(((await service.view(as('alice', 'researcher', ['read']), 'alice')) as { monthlyLimit: string }).monthlyLimit, '5');
    await assert.rejects(service.view(as('bob', 'researcher', ['read']), 'alice'), status(404));
    assert.equal(((await service.view(as('root', 'platform_admin', ['admin']), 'alice')) as { monthlyLimit: string }).monthlyLimit, '5');
  });
});
