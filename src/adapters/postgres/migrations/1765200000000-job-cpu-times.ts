import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The CPU time each job (task_id -1) or array task used, as SLURM's accounting measured it
 * (sacct's TotalCPU, summed over requeued runs): written with the job's usage record.
 */
export class JobCpuTimes1765200000000 implements MigrationInterface {
  name = 'JobCpuTimes1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE job_cpu_times (
        job_id bigint NOT NULL REFERENCES jobs(id),
        task_id integer NOT NULL CHECK (task_id >= -1),
        cpu_seconds double precision NOT NULL CHECK (cpu_seconds >= 0),
        PRIMARY KEY (job_id, task_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE job_cpu_times');
  }
}
