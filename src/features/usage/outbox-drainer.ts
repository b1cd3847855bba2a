import type { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { BroadcastJournal, OutboxEntry, ReportOutcome, UsageReporter } from '../../core/usage/usage-reporter.port';

export interface DrainerOptions {
  batchSize: number;
  /** An entry handed to a reporter is not handed to another for this long (a crashed drainer's entries come back after it). */
  leaseSeconds: number;
  /** A BROADCAST entry is asked about again after this long. */
  confirmAfterSeconds: number;
  maxBackoffSeconds: number;
}

export const DEFAULT_DRAINER_OPTIONS: DrainerOptions = { batchSize: 50, leaseSeconds: 60, confirmAfterSeconds: 5, maxBackoffSeconds: 600 };

/**
 * Drains the usage outbox through a UsageReporter. PostgreSQL keeps everything: a chain that is
 * down leaves entries PENDING (with the error and a back-off), a refusal is kept as REJECTED with
 * the chain's reason, and only COMMITTED, REJECTED and SKIPPED are final. Entries are leased with
 * SKIP LOCKED so two drainers never hand the same entry to their reporters at once.
 */
export class OutboxDrainer {
  constructor(
    private readonly db: DataSource,
    private readonly reporter: UsageReporter,
    private readonly options: DrainerOptions = DEFAULT_DRAINER_OPTIONS,
  ) {}

  /** One batch; returns how many entries were handed to the reporter. */
  async drainOnce(): Promise<number> {
    const entries = await this.lease();
    if (entries.length === 0) return 0;
    let outcomes: Map<string, ReportOutcome>;
    try {
      outcomes = await this.reporter.report(entries, this.journal());
    } catch (error) {
      const reason = (error as Error).message;
      outcomes = new Map(entries.map((e) => [e.usageRecordId, { kind: 'retry', reason } as const]));
    }
    for (const entry of entries) {
      await this.apply(entry, outcomes.get(entry.usageRecordId) ?? { kind: 'retry', reason: 'the reporter gave no outcome' });
    }
    return entries.length;
  }

  private lease(): Promise<OutboxEntry[]> {
    return rows<OutboxEntry>(
      this.db,
      `WITH due AS (
         SELECT usage_record_id FROM usage_outbox
          WHERE status IN ('PENDING', 'BROADCAST') AND next_attempt_at <= now()
          ORDER BY next_attempt_at, usage_record_id
          LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE usage_outbox o SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1, updated_at = now()
         FROM due, usage_records r
        WHERE o.usage_record_id = due.usage_record_id AND r.id = o.usage_record_id
       RETURNING o.usage_record_id::text AS "usageRecordId", r.job_id::text AS "jobId", r.island, r.slurm_job_id::text AS "slurmJobId",
                 r.canonical, r.content_hash AS "contentHash", r.signature, r.signature_algorithm AS "signatureAlgorithm",
                 r.signer_public_key AS "signerPublicKey", o.status, o.tx_hash AS "txHash", o.attempts`,
      [this.options.batchSize, this.options.leaseSeconds],
    );
  }

  private journal(): BroadcastJournal {
    return {
      markBroadcast: async (ids, txHash) => {
        await this.db.query(
          `UPDATE usage_outbox SET status = 'BROADCAST', tx_hash = $2, updated_at = now()
            WHERE usage_record_id = ANY($1::bigint[]) AND status IN ('PENDING', 'BROADCAST')`,
          [ids, txHash],
        );
      },
    };
  }

  private async apply(entry: OutboxEntry, outcome: ReportOutcome): Promise<void> {
    const id = entry.usageRecordId;
    const open = `usage_record_id = $1 AND status IN ('PENDING', 'BROADCAST')`;
    switch (outcome.kind) {
      case 'committed':
        await this.db.query(`UPDATE usage_outbox SET status = 'COMMITTED', tx_hash = $2, last_error = NULL, updated_at = now() WHERE ${open}`, [id, outcome.txHash]);
        return;
      case 'broadcast':
        await this.db.query(
          `UPDATE usage_outbox SET status = 'BROADCAST', tx_hash = $2, next_attempt_at = now() + make_interval(secs => $3), updated_at = now() WHERE ${open}`,
          [id, outcome.txHash, this.options.confirmAfterSeconds],
        );
        return;
      case 'rejected':
        await this.db.query(`UPDATE usage_outbox SET status = 'REJECTED', last_error = $2, updated_at = now() WHERE ${open}`, [id, outcome.reason]);
        return;
      case 'skipped':
        await this.db.query(`UPDATE usage_outbox SET status = 'SKIPPED', last_error = $2, updated_at = now() WHERE ${open}`, [id, outcome.reason]);
        return;
      case 'retry': {
        const delay = Math.min(this.options.maxBackoffSeconds, 2 ** Math.min(entry.attempts, 20));
        await this.db.query(
          `UPDATE usage_outbox SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3), updated_at = now() WHERE ${open}`,
          [id, outcome.reason, delay],
        );
      }
    }
  }
}
