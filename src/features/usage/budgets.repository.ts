import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';

/** `tenant_budgets`: its one writer; with what this month's usage records billed. */
@Injectable()
export class BudgetsRepository {
  constructor(private readonly db: DataSource) {}

  /** The tenant's budget and this UTC month's bills, null without a budget. */
  async withSpent(principalId: string): Promise<{ monthly_limit: string; denom: string; spent: string } | null> {
    const [budget] = await rows<{ monthly_limit: string; denom: string; spent: string }>(
      this.db,
      `SELECT b.monthly_limit::text, b.denom,
              (SELECT coalesce(sum(billed), 0)::text FROM usage_records
                WHERE owner_id = b.principal_id AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS spent
         FROM tenant_budgets b WHERE b.principal_id = $1`,
      [principalId],
    );
    return budget ?? null;
  }

  async set(principalId: string, monthlyLimit: string, denom: string): Promise<void> {
    await rows(
      this.db,
      `INSERT INTO tenant_budgets (principal_id, monthly_limit, denom) VALUES ($1, $2, $3)
       ON CONFLICT (principal_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, denom = EXCLUDED.denom, updated_at = now()`,
      [principalId, monthlyLimit, denom],
    );
  }
}
