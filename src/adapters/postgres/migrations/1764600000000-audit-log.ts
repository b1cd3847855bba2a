import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: append-only and hash-chained (src/core/audit/audit-chain.ts). Each entry's hash
 * covers its content and the previous entry's hash, so changing, removing or reordering any row
 * breaks every link after it. A trigger refuses UPDATE, DELETE and TRUNCATE for everyone, the
 * table owner included; only someone who can disable triggers (a superuser) can alter history, and
 * `GET /v1/audit/verify` then shows where.
 */
export class AuditLog1764600000000 implements MigrationInterface {
  name = 'AuditLog1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE audit_log (
      seq bigint PRIMARY KEY CHECK (seq >= 1),
      at timestamptz NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      target text,
      details jsonb NOT NULL DEFAULT '{}',
      prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
      hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32)
    )`);
    await q.query('CREATE INDEX audit_log_action ON audit_log (action, seq)');
    await q.query('CREATE INDEX audit_log_actor ON audit_log (actor, seq)');
    await q.query('CREATE INDEX audit_log_target ON audit_log (target, seq)');
    await q.query(`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
                   FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await q.query(`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                   FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);
    await q.query('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_log');
    await q.query('DROP FUNCTION audit_log_append_only()');
  }
}
