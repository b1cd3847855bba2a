import { randomBytes } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The key that makes our SLURM job tags unforgeable (src/core/dispatch/job-tag.ts): 256 random bits per
 * control plane, made here rather than by PostgreSQL so their quality does not depend on an
 * extension. Its creation time tells which jobs may still carry tags from before it existed.
 */
export class JobTagKey1765100000000 implements MigrationInterface {
  name = 'JobTagKey1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE control_plane ADD COLUMN tag_key bytea, ADD COLUMN tag_key_created_at timestamptz');
    await q.query('UPDATE control_plane SET tag_key = $1, tag_key_created_at = now()', [randomBytes(32)]);
    await q.query('ALTER TABLE control_plane ALTER COLUMN tag_key SET NOT NULL, ALTER COLUMN tag_key_created_at SET NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE control_plane DROP COLUMN tag_key, DROP COLUMN tag_key_created_at');
  }
}
