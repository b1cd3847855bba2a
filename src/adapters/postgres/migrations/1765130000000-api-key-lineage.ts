import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What minted each API key a principal issued itself: another of its keys (`parent_key_id`) or a
 * wallet login (`parent_login_id`, the login's session family, which outlives each rotated
 * session). Such a key is revoked with its parent, and by the logout of its login.
 *
 * Keys issued before this migration are linked from the audit trail (`api_key.create` names the
 * minting credential): a principal's own keys get their parent, every key minted by a temporary
 * key has its expiry cut to that key's, a key minted by a session gets its expiry cut to the
 * session's refresh expiry, and keys whose parent has ended (revoked, logged out, or a session
 * already purged because its refresh token expired) are revoked now. These revocations are not in
 * the audit trail; keys issued before the trail existed keep no parent.
 */
export class ApiKeyLineage1765130000000 implements MigrationInterface {
  name = 'ApiKeyLineage1765130000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        ADD COLUMN parent_key_id uuid REFERENCES api_keys(id) ON DELETE CASCADE,
        ADD COLUMN parent_login_id uuid,
        ADD CONSTRAINT api_keys_one_parent CHECK (parent_key_id IS NULL OR parent_login_id IS NULL)`);
    await q.query('CREATE INDEX api_keys_parent_key ON api_keys (parent_key_id) WHERE parent_key_id IS NOT NULL');
    await q.query('CREATE INDEX api_keys_parent_login ON api_keys (parent_login_id) WHERE parent_login_id IS NOT NULL');

    const minted = `audit_log a WHERE a.action = 'api_key.create' AND a.target = 'api_key:' || k.id::text`;
    await q.query(`
      UPDATE api_keys k SET expires_at = least(k.expires_at, s.refresh_expires_at), parent_login_id = s.family_id
        FROM login_sessions s, ${minted} AND a.details->>'credential' = 'session:' || s.id::text`);
    await q.query(`
      UPDATE api_keys k SET parent_key_id = p.id
        FROM api_keys p, ${minted} AND a.details->>'credential' = p.id::text AND p.principal_id = k.principal_id AND p.id <> k.id`);
    // Expiries cut down each lineage, then every key minted by a temporary key (for itself or another principal).
    await q.query(`
      WITH RECURSIVE bounded AS (
        SELECT id, expires_at FROM api_keys WHERE parent_key_id IS NULL
        UNION ALL
        SELECT k.id, least(k.expires_at, b.expires_at) FROM api_keys k JOIN bounded b ON k.parent_key_id = b.id
      )
      UPDATE api_keys k SET expires_at = b.expires_at FROM bounded b WHERE b.id = k.id AND b.expires_at IS DISTINCT FROM k.expires_at`);
    await q.query(`
      UPDATE api_keys k SET expires_at = least(k.expires_at, p.expires_at)
        FROM api_keys p, ${minted} AND a.details->>'credential' = p.id::text AND p.expires_at IS NOT NULL`);
    await q.query(`
      UPDATE api_keys k SET revoked_at = now()
        FROM ${minted} AND a.details->>'credential' LIKE 'session:%' AND k.parent_login_id IS NULL AND k.revoked_at IS NULL`);
    await q.query(`
      UPDATE api_keys k SET revoked_at = now()
       WHERE k.parent_login_id IS NOT NULL AND k.revoked_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM login_sessions s WHERE s.family_id = k.parent_login_id AND s.revoked_at IS NULL)`);
    await q.query(`
      WITH RECURSIVE ended AS (
        SELECT id FROM api_keys WHERE revoked_at IS NOT NULL
        UNION
        SELECT k.id FROM api_keys k JOIN ended e ON k.parent_key_id = e.id
      )
      UPDATE api_keys SET revoked_at = now() WHERE id IN (SELECT id FROM ended) AND revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE api_keys DROP COLUMN parent_key_id, DROP COLUMN parent_login_id');
  }
}
