import type { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';

/** What the chain holds for a usage record we reported, compared with it. */
export const RECONCILE_OUTCOMES = ['matched', 'missing_on_chain', 'state_differs', 'record_differs', 'no_reward_on_chain', 'reward_differs'] as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

/** One usage record's comparison with the chain. */
export interface Finding {
  recordId: string;
  chainJobId: string;
  outcome: ReconcileOutcome;
  detail: string;
}

/** `chain_reconciliation`: each reported usage record's latest finding. */
export class ChainReconciliationRepository {
  constructor(private readonly db: DataSource) {}

  async save(findings: Finding[]): Promise<void> {
    if (findings.length === 0) return;
    await rows(
      this.db,
      `INSERT INTO chain_reconciliation (usage_record_id, chain_job_id, outcome, detail)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT (usage_record_id) DO UPDATE SET chain_job_id = EXCLUDED.chain_job_id, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, checked_at = now()`,
      [findings.map((f) => f.recordId), findings.map((f) => f.chainJobId), findings.map((f) => f.outcome), findings.map((f) => f.detail)],
    );
  }
}
