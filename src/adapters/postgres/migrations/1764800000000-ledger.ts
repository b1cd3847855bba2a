import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reporting to the chain. `chain_txs` journals every signed transaction (hash, bytes, sequence)
 * BEFORE it is sent, so after a crash a transaction is looked up by hash, re-sent byte for byte
 * (it lands at most once: its sequence) or known dead (its sequence was used) — never re-signed
 * while it could still land. `chain_outbox` holds the provider daemon's messages (cluster
 * registration, offerings, node liveness) under a unique key each; `chain_clusters` maps islands
 * to the chain's cluster ids; `chain_job_links` maps our jobs to the chain jobs they report to
 * (written by chain ingress). A usage outbox entry whose job has no chain job is SKIPPED.
 */
export class Ledger1764800000000 implements MigrationInterface {
  name = 'Ledger1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_txs (
        hash text PRIMARY KEY CHECK (hash ~ '^[0-9A-F]{64}$'),
        tx_bytes bytea NOT NULL,
        sequence bigint NOT NULL,
        messages integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE chain_job_links (
        job_id bigint PRIMARY KEY REFERENCES jobs(id),
        chain_job_id text NOT NULL UNIQUE CHECK (length(chain_job_id) BETWEEN 1 AND 64)
      )`);
    await q.query(`
      CREATE TABLE chain_clusters (
        island text PRIMARY KEY,
        cluster_id text NOT NULL UNIQUE,
        registered_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE chain_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dedupe_key text NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('register-cluster', 'activate-cluster', 'create-offering', 'node-liveness')),
        subject text NOT NULL,
        type_url text NOT NULL,
        value bytea NOT NULL,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'BROADCAST', 'COMMITTED', 'REJECTED', 'SUPERSEDED')),
        tx_hash text,
        -- The message's position in that transaction: its response (a cluster or offering id) is there.
        tx_message_index integer,
        response bytea,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX chain_outbox_due ON chain_outbox (next_attempt_at, id) WHERE status IN ('PENDING', 'BROADCAST')`);
    await q.query(`CREATE INDEX chain_outbox_subject ON chain_outbox (kind, subject)`);
    await q.query(`ALTER TABLE usage_outbox DROP CONSTRAINT usage_outbox_status_check`);
    await q.query(
      `ALTER TABLE usage_outbox ADD CONSTRAINT usage_outbox_status_check CHECK (status IN ('PENDING', 'BROADCAST', 'COMMITTED', 'REJECTED', 'SKIPPED'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE usage_outbox SET status = 'REJECTED' WHERE status = 'SKIPPED'`);
    await q.query(`ALTER TABLE usage_outbox DROP CONSTRAINT usage_outbox_status_check`);
    await q.query(`ALTER TABLE usage_outbox ADD CONSTRAINT usage_outbox_status_check CHECK (status IN ('PENDING', 'BROADCAST', 'COMMITTED', 'REJECTED'))`);
    await q.query('DROP TABLE chain_outbox, chain_clusters, chain_job_links, chain_txs');
  }
}
