import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wallet identity: principals linked to chain addresses, the admin's POSIX mapping for wallets,
 * single-use login challenges, login sessions (opaque tokens, only hashes stored, refresh
 * rotation within a family) and the MFA sessions this service has consumed.
 */
export class Identity1764300000000 implements MigrationInterface {
  name = 'Identity1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE principals ADD COLUMN chain_address text UNIQUE');
    await q.query(`
      CREATE TABLE wallet_accounts (
        address text PRIMARY KEY,
        kind text NOT NULL DEFAULT 'researcher' CHECK (kind IN ('researcher', 'provider_admin')),
        slurm_user text CHECK (slurm_user ~ '^[a-z_][a-z0-9_-]{0,31}$' AND slurm_user NOT IN ('root', 'slurm')),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE login_challenges (
        nonce text PRIMARY KEY,
        address text NOT NULL,
        -- Who asked (client IP): open challenges are capped per client, not per address, so nobody
        -- can lock an address out by asking for its challenges.
        client text NOT NULL,
        domain text NOT NULL,
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query('CREATE INDEX login_challenges_expiry ON login_challenges (expires_at)');
    await q.query('CREATE INDEX login_challenges_open ON login_challenges (client, expires_at) WHERE used_at IS NULL');
    await q.query(`
      CREATE TABLE login_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        family_id uuid NOT NULL,
        principal_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        refresh_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        refresh_expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query('CREATE INDEX login_sessions_family ON login_sessions (family_id)');
    await q.query(`
      CREATE TABLE mfa_consumptions (
        session_id text PRIMARY KEY,
        principal_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        action text NOT NULL,
        -- What the action was done to, when a retry of it is idempotent (the retry may reuse the session).
        subject text,
        consumed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE mfa_consumptions, login_sessions, login_challenges, wallet_accounts');
    await q.query('ALTER TABLE principals DROP COLUMN chain_address');
  }
}
