import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { RewardSplit } from '../../core/usage/rewards';
import type { UsageRecord } from '../../core/usage/usage-record';

/** An ended job that SLURM ran and that has no usage record yet. */
export interface UnaccountedJob {
  id: string;
  owner_id: string;
  slurm_user: string;
  island: string;
  slurm_job_id: string;
  array_size: number | null;
  state: string;
  ended_at: Date;
  accounting_attempts: number;
}

export interface NodeFacts {
  name: string;
  provider_id: string;
  benchmark_score: number;
  gpu_model: string | null;
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
}

@Injectable()
export class UsageRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Jobs due for accounting on these islands, the longest-waiting first, LEASED for `leaseSeconds`:
   * another worker skips them meanwhile (no double reads of slurmdbd), and if this one dies they
   * come back when the lease runs out. The transaction that writes the record is what guarantees
   * one record per job; the lease only saves work.
   */
  lease(islands: string[], limit: number, leaseSeconds: number): Promise<UnaccountedJob[]> {
    return rows<UnaccountedJob>(
      this.db,
      `WITH due AS (
         SELECT id FROM jobs
          WHERE ended_at IS NOT NULL AND accounted_at IS NULL AND slurm_job_id IS NOT NULL
            AND island = ANY($1) AND (accounting_next_at IS NULL OR accounting_next_at <= now())
          ORDER BY accounting_next_at NULLS FIRST, id
          LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE jobs j SET accounting_next_at = now() + make_interval(secs => $3)
         FROM due WHERE j.id = due.id
       RETURNING j.id, j.owner_id, j.slurm_user, j.island, j.slurm_job_id, j.array_size, j.state, j.ended_at, j.accounting_attempts`,
      [islands, limit, leaseSeconds],
    );
  }

  /** Accounting is not there yet: try again after `delaySeconds`, and say why (visible in the job's usage view). */
  async retryLater(jobId: string, note: string, delaySeconds: number): Promise<void> {
    await this.db.query(
      `UPDATE jobs SET accounting_attempts = accounting_attempts + 1, accounting_note = $2,
              accounting_next_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND accounted_at IS NULL`,
      [jobId, note, delaySeconds],
    );
  }

  /** Stops trying: the job stays unaccounted (never billed from a guess), with the reason. */
  async giveUp(jobId: string, note: string): Promise<void> {
    await this.db.query(
      `UPDATE jobs SET accounting_note = $2, accounting_next_at = 'infinity' WHERE id = $1 AND accounted_at IS NULL`,
      [jobId, `gave up: ${note}`],
    );
  }

  nodeFacts(names: string[]): Promise<NodeFacts[]> {
    if (names.length === 0) return Promise.resolve([]);
    return rows<NodeFacts>(
      this.db,
      `SELECT name, provider_id, benchmark_score, inventory->'gpus'->0->>'model' AS gpu_model FROM nodes WHERE name = ANY($1)`,
      [names],
    );
  }

  /**
   * ONE transaction: the job is marked accounted, its record, outbox entry and reward lines are
   * written. Either all of it is there or none of it (a crash rolls back), and a second writer
   * (another worker, a retry) finds the job already accounted and writes nothing. Returns whether
   * this call wrote the record. `beforeCommit` exists for crash tests.
   */
  async saveAccounted(signed: SignedRecord, beforeCommit?: () => Promise<void>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const marked = await rows(tx, `UPDATE jobs SET accounted_at = now(), accounting_note = NULL, accounting_next_at = NULL
                                       WHERE id = $1 AND accounted_at IS NULL RETURNING id`, [signed.job.id]);
      if (marked.length === 0) return false;
      const { key } = signed.record.body.usage;
      const [{ id: recordId }] = await rows<{ id: string }>(
        tx,
        `INSERT INTO usage_records (job_id, owner_id, island, slurm_job_id, slurm_submit_time, canonical, content_hash,
                                    signature, signature_algorithm, signer_public_key, denom, billed, epoch)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
        [signed.job.id, signed.job.owner_id, key.island, key.slurmJobId, key.submitTime, signed.record.canonical, signed.record.contentHash,
          signed.signature, signed.algorithm, signed.publicKey, signed.denom, signed.billed.toString(), signed.epoch],
      );
      await tx.query('INSERT INTO usage_outbox (usage_record_id) VALUES ($1)', [recordId]);
      const lines = rewardLines(signed.rewards);
      await tx.query(
        `INSERT INTO usage_rewards (usage_record_id, job_id, epoch, kind, beneficiary, provider, weight, amount, denom)
         SELECT $1, $2, $3, l.kind, l.beneficiary, l.provider, l.weight::numeric, l.amount::numeric, $4
           FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS l(kind, beneficiary, provider, weight, amount)`,
        [recordId, signed.job.id, signed.epoch, signed.denom, lines.map((l) => l.kind), lines.map((l) => l.beneficiary),
          lines.map((l) => l.provider), lines.map((l) => l.weight), lines.map((l) => l.amount)],
      );
      await beforeCommit?.();
      return true;
    });
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
