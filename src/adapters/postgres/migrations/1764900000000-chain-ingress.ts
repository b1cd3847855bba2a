import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Chain ingress: every chain job we decided on, once (its id is the primary key, so a restart or a
 * second worker never imports it twice). IMPORTED rows name the Archipelago job (written in the
 * same transaction as the job and its `chain_job_links` row); REFUSED rows keep the gate's answer,
 * and a `refuse-job` message in `chain_outbox` reports the chain job FAILED with that reason.
 */
export class ChainIngress1764900000000 implements MigrationInterface {
  name = 'ChainIngress1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_ingress (
        chain_job_id text PRIMARY KEY CHECK (length(chain_job_id) BETWEEN 1 AND 64),
        cluster_id text NOT NULL,
        island text NOT NULL,
        customer_address text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('IMPORTED', 'REFUSED')),
        job_id bigint UNIQUE REFERENCES jobs(id),
        refusal_status integer,
        reason text,
        decided_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((outcome = 'IMPORTED') = (job_id IS NOT NULL)),
        CHECK ((outcome = 'REFUSED') = (reason IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX chain_ingress_customer ON chain_ingress (customer_address, decided_at)`);
    await q.query(`ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check`);
    await q.query(
      `ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check CHECK (kind IN ('register-cluster', 'activate-cluster', 'create-offering', 'node-liveness', 'refuse-job'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM chain_outbox WHERE kind = 'refuse-job'`);
    await q.query(`ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check`);
    await q.query(
      `ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check CHECK (kind IN ('register-cluster', 'activate-cluster', 'create-offering', 'node-liveness'))`,
    );
    await q.query('DROP TABLE chain_ingress');
  }
}
