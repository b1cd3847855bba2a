import { MigrationInterface, QueryRunner } from 'typeorm';

/** A researcher lets a marketplace account act on its behalf, with some of its scopes, for a while. */
export class Delegations1764310000000 implements MigrationInterface {
  name = 'Delegations1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE delegations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        delegate_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        CHECK (principal_id <> delegate_id)
      )`);
    await q.query('CREATE INDEX delegations_active ON delegations (delegate_id, principal_id) WHERE revoked_at IS NULL');
    await q.query('CREATE INDEX delegations_granted ON delegations (principal_id, created_at DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE delegations');
  }
}
