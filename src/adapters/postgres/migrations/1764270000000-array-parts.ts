import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An array too big for one island's free capacity is split into parts, each a hidden child job
 * (its own SLURM array on its own island) under the job the user submitted, which stays the one
 * job they see. `split_into` on the parent says how many parts it has.
 */
export class ArrayParts1764270000000 implements MigrationInterface {
  name = 'ArrayParts1764270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN parent_id bigint REFERENCES jobs(id), ADD COLUMN array_part integer,
                   ADD COLUMN split_into integer CHECK (split_into IS NULL OR split_into >= 2)`);
    await q.query('CREATE UNIQUE INDEX jobs_parts ON jobs (parent_id, array_part) WHERE parent_id IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX jobs_parts');
    await q.query('ALTER TABLE jobs DROP COLUMN parent_id, DROP COLUMN array_part, DROP COLUMN split_into');
  }
}
