import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { JobStats } from '../../core/common/domain-stats';
import type { JobOutcomes, JobProgress } from '../../core/jobs/job-outcomes';
import type { JobState } from '../../core/jobs/lifecycle';

/** Read-only facts about jobs for metrics (JOB_STATS) and the chain reporter (JOB_OUTCOMES). */
@Injectable()
export class JobFactsRepository implements JobStats, JobOutcomes {
  constructor(private readonly db: DataSource) {}

  // Named queries for metrics (core/common/domain-stats.ts).
  async countsByStateAndIsland(): Promise<Array<{ state: string; island: string; count: number }>> {
    const found = await rows<{ state: string; island: string; count: string }>(
      this.db,
      `SELECT state, coalesce(island, '') AS island, count(*) AS count FROM jobs GROUP BY 1, 2`,
    );
    return found.map((r) => ({ state: r.state, island: r.island, count: Number(r.count) }));
  }

  async dispatchBacklog(): Promise<{ depth: number; oldestAgeSeconds: number | null }> {
    const [row] = await rows<{ depth: string; oldest_age: number | null }>(
      this.db,
      `SELECT count(*) AS depth, extract(epoch FROM now() - min(submitted_at))::float8 AS oldest_age FROM jobs WHERE state = 'ACCEPTED'`,
    );
    return { depth: Number(row.depth), oldestAgeSeconds: row.oldest_age };
  }

  // Named query for the chain reporter (core/jobs/job-outcomes.ts).
  async exitCodes(jobIds: string[]): Promise<Map<string, number | null>> {
    const found = await rows<{ id: string; exit_code: number | null }>(this.db, 'SELECT id::text AS id, exit_code FROM jobs WHERE id = ANY($1::bigint[])', [
      jobIds,
    ]);
    return new Map(found.map((r) => [r.id, r.exit_code]));
  }

  async progress(jobIds: string[]): Promise<Map<string, JobProgress>> {
    const found = await rows<{ id: string; state: JobState; slurm_job_id: string | null; started_at: Date | null }>(
      this.db,
      'SELECT id::text AS id, state, slurm_job_id, started_at FROM jobs WHERE id = ANY($1::bigint[])',
      [jobIds],
    );
    return new Map(found.map((r) => [r.id, { state: r.state, slurmJobId: r.slurm_job_id, startedAt: r.started_at }]));
  }
}
