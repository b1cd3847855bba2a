import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `chain_reconciliation`: for each usage record the chain took, what the chain holds compared with
 * what we reported (its job's state and status message, its reward records), as of the last pass.
 */
export class ChainReconciliation1765170000002 implements MigrationInterface {
  name = 'ChainReconciliation1765170000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_reconciliation (
        usage_record_id bigint PRIMARY KEY REFERENCES usage_records (id),
        chain_job_id text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('matched', 'missing_on_chain', 'state_differs', 'record_differs', 'no_reward_on_chain', 'reward_differs')),
        detail text NOT NULL,
        checked_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX chain_reconciliation_outcome ON chain_reconciliation (outcome) WHERE outcome <> 'matched'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE chain_reconciliation');
  }
}
