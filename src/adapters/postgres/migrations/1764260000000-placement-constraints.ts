import { MigrationInterface, QueryRunner } from 'typeorm';

/** What the submitter asked of the island a job may run on (regions, providers, performance, latency, price). */
export class PlacementConstraints1764260000000 implements MigrationInterface {
  name = 'PlacementConstraints1764260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN constraints jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs DROP COLUMN constraints');
  }
}
