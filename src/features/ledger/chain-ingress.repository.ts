import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import { transaction } from '../../adapters/postgres/transactions';
import type { ChainOutboxRepository } from './chain-outbox.repository';

/** A chain job as ingress decides about it. */
export interface IngressSubject {
  jobId: string;
  clusterId: string;
  customerAddress: string;
}

/** `chain_ingress` (what became of each chain job for our clusters) and `chain_job_links` (chain job ↔ our job). */
export class ChainIngressRepository {
  constructor(
    private readonly db: DataSource,
    private readonly outbox: ChainOutboxRepository,
  ) {}

  /** Our islands' chain cluster ids, by island. */
  clusters(): Promise<Array<{ island: string; cluster_id: string }>> {
    return rows(this.db, 'SELECT island, cluster_id FROM chain_clusters ORDER BY island');
  }

  /** Which of these chain jobs were imported or refused already. */
  async decided(chainJobIds: string[]): Promise<Set<string>> {
    const found = await rows<{ chain_job_id: string }>(this.db, 'SELECT chain_job_id FROM chain_ingress WHERE chain_job_id = ANY($1::text[])', [chainJobIds]);
    return new Set(found.map((r) => r.chain_job_id));
  }

  /** Our job id for each of these chain jobs that was imported. */
  async imported(chainJobIds: string[]): Promise<Map<string, string>> {
    const found = await rows<{ chain_job_id: string; job_id: string }>(
      this.db,
      `SELECT chain_job_id, job_id::text AS job_id FROM chain_ingress WHERE outcome = 'IMPORTED' AND chain_job_id = ANY($1::text[])`,
      [chainJobIds],
    );
    return new Map(found.map((r) => [r.chain_job_id, r.job_id]));
  }

  /** Queues a QUEUED / RUNNING report under `key` (once); whether it was new. */
  queueProgress(key: string, chainJobId: string, report: EncodeObject): Promise<boolean> {
    return this.outbox.enqueue(key, 'job-progress', chainJobId, report);
  }

  /**
   * Inside the transaction that creates our job: claims the chain job as imported and links the
   * two; false when another worker decided about it first (the caller rolls its job back).
   */
  async claimImport(job: IngressSubject, island: string, ourJobId: string): Promise<boolean> {
    const claimed = await rows(
      this.db,
      `INSERT INTO chain_ingress (chain_job_id, cluster_id, island, customer_address, outcome, job_id)
       VALUES ($1, $2, $3, $4, 'IMPORTED', $5) ON CONFLICT (chain_job_id) DO NOTHING RETURNING 1`,
      [job.jobId, job.clusterId, island, job.customerAddress, ourJobId],
    );
    if (claimed.length === 0) return false;
    await rows(this.db, 'INSERT INTO chain_job_links (job_id, chain_job_id) VALUES ($1, $2)', [ourJobId, job.jobId]);
    return true;
  }

  /** Records the refusal and queues its FAILED report, together; false if another worker decided first. */
  refuse(job: IngressSubject, island: string, status: number, reason: string, report: EncodeObject): Promise<boolean> {
    return transaction(this.db, async () => {
      const claimed = await rows(
        this.db,
        `INSERT INTO chain_ingress (chain_job_id, cluster_id, island, customer_address, outcome, refusal_status, reason)
         VALUES ($1, $2, $3, $4, 'REFUSED', $5, $6) ON CONFLICT (chain_job_id) DO NOTHING RETURNING 1`,
        [job.jobId, job.clusterId, island, job.customerAddress, status, reason],
      );
      if (claimed.length === 0) return false;
      await this.outbox.enqueue(`refuse:${job.jobId}`, 'refuse-job', job.jobId, report);
      return true;
    });
  }
}
