import { MigrationInterface, QueryRunner } from 'typeorm';

const KINDS = `'register-cluster', 'activate-cluster', 'create-offering', 'node-liveness', 'refuse-job'`;

/**
 * `job-progress` rows in `chain_outbox`: chain ingress reports an imported job QUEUED and RUNNING
 * as SLURM takes and starts it, not only at the end (one row per chain job and state).
 */
export class ChainJobProgress1765170000000 implements MigrationInterface {
  name = 'ChainJobProgress1765170000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check`);
    await q.query(`ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check CHECK (kind IN (${KINDS}, 'job-progress'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM chain_outbox WHERE kind = 'job-progress'`);
    await q.query(`ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check`);
    await q.query(`ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check CHECK (kind IN (${KINDS}))`);
  }
}
