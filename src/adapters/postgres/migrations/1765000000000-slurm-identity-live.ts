import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A SLURM job id names one job only while that SLURM cluster keeps its state: an island started
 * again from scratch counts from 1 again. So (island, SLURM id) is unique among jobs that have not
 * ended; an ended job keeps the id it had, and a new job may get the same one later.
 */
export class SlurmIdentityLive1765000000000 implements MigrationInterface {
  name = 'SlurmIdentityLive1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs DROP CONSTRAINT jobs_slurm_identity');
    await q.query('CREATE UNIQUE INDEX jobs_slurm_identity_live ON jobs (island, slurm_job_id) WHERE ended_at IS NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX jobs_slurm_identity_live');
    await q.query('ALTER TABLE jobs ADD CONSTRAINT jobs_slurm_identity UNIQUE (island, slurm_job_id)');
  }
}
