import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounting: each terminal job gets at most one signed usage record, written in the same
 * transaction that marks the job accounted, with its outbox entry (what the chain reporter drains)
 * and its reward lines. A node's benchmark score weighs its share of the node reward pool.
 */
export class Usage1764400000000 implements MigrationInterface {
  name = 'Usage1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE jobs
        ADD COLUMN accounted_at timestamptz,
        ADD COLUMN accounting_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN accounting_next_at timestamptz,
        ADD COLUMN accounting_note text`);
    // What the accounting worker scans: ended jobs SLURM ran that have no usage record yet.
    await q.query(`
      CREATE INDEX jobs_unaccounted ON jobs (accounting_next_at NULLS FIRST, id)
        WHERE ended_at IS NOT NULL AND accounted_at IS NULL AND slurm_job_id IS NOT NULL`);
    // 1000 = the reference node (src/core/usage/rewards.ts); benchmarks (x/benchmark) will set it.
    await q.query(`ALTER TABLE nodes ADD COLUMN benchmark_score integer NOT NULL DEFAULT 1000 CHECK (benchmark_score > 0)`);
    await q.query(`
      CREATE TABLE usage_records (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL UNIQUE REFERENCES jobs(id),
        owner_id uuid NOT NULL REFERENCES principals(id),
        island text NOT NULL,
        slurm_job_id bigint NOT NULL,
        slurm_submit_time bigint NOT NULL,
        canonical text NOT NULL,
        content_hash text NOT NULL UNIQUE CHECK (content_hash ~ '^[0-9a-f]{64}$'),
        signature bytea NOT NULL,
        signature_algorithm text NOT NULL CHECK (signature_algorithm IN ('ed25519', 'secp256k1')),
        signer_public_key text NOT NULL,
        denom text NOT NULL,
        billed numeric(40, 0) NOT NULL CHECK (billed >= 0),
        epoch integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT usage_records_key UNIQUE (island, slurm_job_id, slurm_submit_time)
      )`);
    await q.query(`
      CREATE TABLE usage_outbox (
        usage_record_id bigint PRIMARY KEY REFERENCES usage_records(id),
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'BROADCAST', 'COMMITTED', 'REJECTED')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        tx_hash text,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX usage_outbox_due ON usage_outbox (next_attempt_at, usage_record_id) WHERE status IN ('PENDING', 'BROADCAST')`);
    await q.query(`
      CREATE TABLE usage_rewards (
        usage_record_id bigint NOT NULL REFERENCES usage_records(id),
        job_id bigint NOT NULL REFERENCES jobs(id),
        epoch integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('platform', 'provider', 'node')),
        beneficiary text NOT NULL,
        provider text,
        weight numeric(40, 0),
        amount numeric(40, 0) NOT NULL CHECK (amount >= 0),
        denom text NOT NULL,
        PRIMARY KEY (usage_record_id, kind, beneficiary)
      )`);
    await q.query('CREATE INDEX usage_rewards_by_beneficiary ON usage_rewards (kind, beneficiary, epoch)');
    await q.query('CREATE INDEX usage_rewards_by_provider ON usage_rewards (provider, epoch) WHERE provider IS NOT NULL');
    await q.query('CREATE INDEX usage_rewards_by_epoch ON usage_rewards (epoch)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE usage_rewards, usage_outbox, usage_records');
    await q.query('ALTER TABLE nodes DROP COLUMN benchmark_score');
    await q.query('DROP INDEX jobs_unaccounted');
    await q.query(`ALTER TABLE jobs DROP COLUMN accounted_at, DROP COLUMN accounting_attempts,
                   DROP COLUMN accounting_next_at, DROP COLUMN accounting_note`);
  }
}
