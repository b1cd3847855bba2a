import { MigrationInterface, QueryRunner } from 'typeorm';

/** Provider nodes: join tokens and their single-use nonces, the nodes themselves, measured latency. */
export class Nodes1764100000000 implements MigrationInterface {
  name = 'Nodes1764100000000';

  async up(q: QueryRunner): Promise<void> {
    // Only the SHA-256 of a token is stored (like API keys: 256 random bits need no slow hash).
    await q.query(`
      CREATE TABLE join_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        prefix text NOT NULL,
        token_hash bytea NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        max_uses integer NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
        uses integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by uuid REFERENCES principals(id) ON DELETE SET NULL
      )`);
    await q.query('CREATE INDEX join_tokens_provider ON join_tokens (provider_id, created_at DESC)');
    await q.query(`
      CREATE TABLE join_nonces (
        nonce text PRIMARY KEY,
        token_id uuid NOT NULL REFERENCES join_tokens(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query('CREATE INDEX join_nonces_expiry ON join_nonces (expires_at)');
    await q.query(`
      CREATE TABLE nodes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES principals(id),
        join_token_id uuid REFERENCES join_tokens(id) ON DELETE SET NULL,
        name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
        public_key text NOT NULL UNIQUE,
        inventory jsonb NOT NULL,
        tags jsonb NOT NULL DEFAULT '{}',
        probe_address text NOT NULL,
        state text NOT NULL DEFAULT 'PENDING'
          CHECK (state IN ('PENDING', 'ACTIVE', 'DRAINING', 'STALE', 'OFFLINE', 'DEREGISTERED')),
        island text,
        last_heartbeat_at timestamptz,
        last_seq bigint NOT NULL DEFAULT 0,
        health text,
        capacity jsonb,
        slurmd_state text,
        created_at timestamptz NOT NULL DEFAULT now(),
        state_changed_at timestamptz NOT NULL DEFAULT now(),
        drained_reason text,
        deregistered_at timestamptz
      )`);
    await q.query('CREATE INDEX nodes_provider ON nodes (provider_id, created_at, id)');
    // What the liveness sweeper scans: nodes that can still fall silent.
    await q.query(`CREATE INDEX nodes_live ON nodes (coalesce(last_heartbeat_at, created_at)) WHERE state <> 'DEREGISTERED'`);
    await q.query(`
      CREATE TABLE latency_samples (
        from_node uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        to_node uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        rtt_ms double precision CHECK (rtt_ms >= 0 AND rtt_ms < 10000),
        loss double precision NOT NULL CHECK (loss >= 0 AND loss <= 1),
        probes integer NOT NULL CHECK (probes >= 1),
        measured_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (from_node, to_node),
        CHECK (from_node <> to_node),
        CHECK (rtt_ms IS NOT NULL OR loss = 1)
      )`);
    await q.query('CREATE INDEX latency_samples_to ON latency_samples (to_node)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE latency_samples, nodes, join_nonces, join_tokens');
  }
}
