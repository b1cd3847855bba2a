import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each job keeps the placement decision that sent it to its island (or rejected it), with its candidates. */
export class Placement1764200000000 implements MigrationInterface {
  name = 'Placement1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs ADD COLUMN placement jsonb');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs DROP COLUMN placement');
  }
}
