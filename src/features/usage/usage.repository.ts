import { Inject, Injectable } from '@nestjs/common';
import type { UnaccountedJob } from '../../core/usage/accounting-queue';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import { transaction } from '../../adapters/postgres/transactions';
import { Outbox } from '../../adapters/postgres/outbox';
import { ACCOUNTING_QUEUE, type AccountingQueue } from '../../core/usage/accounting-queue';
import { DEFAULT_DRAINER_OPTIONS, USAGE_OUTBOX } from './outbox-drainer';
import type { RewardSplit } from '../../core/usage/rewards';
import type { UsageRecord } from '../../core/usage/usage-record';
import { type UsageOutboxStats } from '../../core/common/domain-stats';
import type { ReportedUsage, ReportedUsageSource } from '../../core/usage/reported-usage';

export interface UsageRecordView {
  record_id: string;
  canonical: string;
  content_hash: string;
  signature: Buffer;
  signature_algorithm: string;
  signer_public_key: string;
  outbox_status: string | null;
  tx_hash: string | null;
  last_error: string | null;
}

export interface SignedRecord {
  job: UnaccountedJob;
  record: UsageRecord;
  signature: Buffer;
  algorithm: string;
  publicKey: string;
  denom: string;
  billed: bigint;
  epoch: number;
  rewards: RewardSplit;
  /** CPU time per task (WHOLE_JOB for a plain job), from the same accounting records. */
  cpuTimes: Array<{ taskId: number; cpuSeconds: number }>;
}

@Injectable()
export class UsageRepository implements UsageOutboxStats, ReportedUsageSource {
  /** Entries are only added here (with their record); the drainer settles them. */
  private readonly outbox: Outbox;

  constructor(
    private readonly db: DataSource,
    @Inject(ACCOUNTING_QUEUE) private readonly queue: AccountingQueue,
  ) {
    this.outbox = new Outbox(db, USAGE_OUTBOX, DEFAULT_DRAINER_OPTIONS.maxBackoffSeconds);
  }

  /**
   * ONE transaction: the job is marked accounted, its record, outbox entry and reward lines are
   * written. Either all of it is there or none of it (a crash rolls back), and a second writer
   * (another worker, a retry) finds the job already accounted and writes nothing. Returns whether
   * this call wrote the record. `beforeCommit` exists for crash tests.
   */
  async saveAccounted(signed: SignedRecord, beforeCommit?: () => Promise<void>): Promise<boolean> {
    return transaction(this.db, async (tx) => {
      if (!(await this.queue.markAccounted(signed.job.id))) return false;
      const { key } = signed.record.body.usage;
      const [{ id: recordId }] = await rows<{ id: string }>(
        tx,
        `INSERT INTO usage_records (job_id, owner_id, island, slurm_job_id, slurm_submit_time, canonical, content_hash,
                                    signature, signature_algorithm, signer_public_key, denom, billed, epoch)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
        [
          signed.job.id,
          signed.job.owner_id,
          key.island,
          key.slurmJobId,
          key.submitTime,
          signed.record.canonical,
          signed.record.contentHash,
          signed.signature,
          signed.algorithm,
          signed.publicKey,
          signed.denom,
          signed.billed.toString(),
          signed.epoch,
        ],
      );
      await this.outbox.add({ usage_record_id: recordId });
      const lines = rewardLines(signed.rewards);
      await tx.query(
        `INSERT INTO usage_rewards (usage_record_id, job_id, epoch, kind, beneficiary, provider, weight, amount, denom)
         SELECT $1, $2, $3, l.kind, l.beneficiary, l.provider, l.weight::numeric, l.amount::numeric, $4
           FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS l(kind, beneficiary, provider, weight, amount)`,
        [
          recordId,
          signed.job.id,
          signed.epoch,
          signed.denom,
          lines.map((l) => l.kind),
          lines.map((l) => l.beneficiary),
          lines.map((l) => l.provider),
          lines.map((l) => l.weight),
          lines.map((l) => l.amount),
        ],
      );
      await tx.query(
        `INSERT INTO job_cpu_times (job_id, task_id, cpu_seconds)
         SELECT $1, t.task_id, t.cpu_seconds FROM unnest($2::int[], $3::float8[]) AS t(task_id, cpu_seconds)`,
        [signed.job.id, signed.cpuTimes.map((c) => c.taskId), signed.cpuTimes.map((c) => c.cpuSeconds)],
      );
      await beforeCommit?.();
      return true;
    });
  }

  /** The job's usage record and where its report to the chain stands; null before accounting. */
  async recordOf(jobId: string): Promise<UsageRecordView | null> {
    const [row] = await rows<UsageRecordView>(
      this.db,
      `SELECT r.id AS record_id, r.canonical, r.content_hash, r.signature, r.signature_algorithm, r.signer_public_key,
              o.status AS outbox_status, o.tx_hash, o.last_error
         FROM usage_records r LEFT JOIN usage_outbox o ON o.usage_record_id = r.id
        WHERE r.job_id = $1`,
      [jobId],
    );
    return row ?? null;
  }

  // Named query for metrics (core/common/domain-stats.ts).
  async outboxByStatus(): Promise<Array<{ status: string; count: number; oldestAgeSeconds: number | null }>> {
    const found = await rows<{ status: string; count: string; oldest_age: number | null }>(
      this.db,
      `SELECT status, count(*) AS count, extract(epoch FROM now() - min(updated_at))::float8 AS oldest_age FROM usage_outbox GROUP BY status`,
    );
    return found.map((r) => ({ status: r.status, count: Number(r.count), oldestAgeSeconds: r.oldest_age }));
  }

  async committedOnChain(afterRecordId: string, limit: number): Promise<ReportedUsage[]> {
    const found = await rows<{ id: string; job_id: string; canonical: string; content_hash: string; billed: string; denom: string }>(
      this.db,
      `SELECT r.id::text, r.job_id::text, r.canonical, r.content_hash, r.billed::text, r.denom
         FROM usage_records r JOIN usage_outbox o ON o.usage_record_id = r.id
        WHERE o.status = 'COMMITTED' AND r.id > $1::bigint ORDER BY r.id LIMIT $2`,
      [afterRecordId, limit],
    );
    return found.map((r) => ({
      recordId: r.id,
      jobId: r.job_id,
      state: (JSON.parse(r.canonical) as { state: string }).state,
      contentHash: r.content_hash,
      billed: r.billed,
      denom: r.denom,
    }));
  }
}

interface RewardLine {
  kind: 'platform' | 'provider' | 'node';
  beneficiary: string;
  provider: string | null;
  weight: string | null;
  amount: string;
}

function rewardLines(split: RewardSplit): RewardLine[] {
  return [
    { kind: 'platform', beneficiary: 'platform', provider: null, weight: null, amount: split.platform },
    ...split.providers.map((p) => ({ kind: 'provider' as const, beneficiary: p.provider, provider: p.provider, weight: null, amount: p.amount })),
    ...split.nodes.map((n) => ({ kind: 'node' as const, beneficiary: n.node, provider: n.provider, weight: n.weight, amount: n.amount })),
  ];
}
