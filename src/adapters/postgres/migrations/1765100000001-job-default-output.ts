import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The output pattern Archipelago gave a job whose submitter named none (src/core/jobs/output-path.ts):
 * recorded at dispatch, so the output endpoint reads the file SLURM really wrote. NULL for jobs with
 * their own --output, and for jobs dispatched before Archipelago named its own (SLURM's default).
 */
export class JobDefaultOutput1765100000001 implements MigrationInterface {
  name = 'JobDefaultOutput1765100000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs ADD COLUMN default_output text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs DROP COLUMN default_output');
  }
}
