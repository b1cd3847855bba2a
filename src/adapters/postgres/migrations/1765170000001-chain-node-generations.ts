import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `chain_node_generations`: a node the chain deregistered (silent for over an hour: x/hpc never
 * lets that node id report again) reports under `<name>-r<generation>` from then on; the row
 * keeps the generation and the id the chain retired.
 */
export class ChainNodeGenerations1765170000001 implements MigrationInterface {
  name = 'ChainNodeGenerations1765170000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_node_generations (
        node_id uuid PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
        generation integer NOT NULL CHECK (generation >= 2),
        retired_chain_node_id text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE chain_node_generations');
  }
}
