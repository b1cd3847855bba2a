import type { DataSource } from 'typeorm';
import { Outbox, type OutboxTable } from '../../adapters/postgres/outbox';
import type { OutboxEntry, ReportOutcome, UsageReporter } from '../../core/usage/usage-reporter.port';

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
export const USAGE_OUTBOX: OutboxTable = {
  name: 'usage_outbox',
  key: 'usage_record_id',
  keyType: 'bigint',
  order: 'next_attempt_at, usage_record_id',
  messageIndex: false,
};

export class OutboxDrainer {
  private readonly outbox: Outbox;

  constructor(
    db: DataSource,
    private readonly reporter: UsageReporter,
    private readonly options: DrainerOptions = DEFAULT_DRAINER_OPTIONS,
  ) {
    this.outbox = new Outbox(db, USAGE_OUTBOX, options.maxBackoffSeconds);
  }

  /** One batch; returns how many entries were handed to the reporter. */
  async drainOnce(): Promise<number> {
    const entries = await this.outbox.lease<OutboxEntry>(
      this.options.batchSize,
      this.options.leaseSeconds,
      `o.usage_record_id::text AS "usageRecordId", r.job_id::text AS "jobId", r.island, r.slurm_job_id::text AS "slurmJobId",
       r.canonical, r.content_hash AS "contentHash", r.signature, r.signature_algorithm AS "signatureAlgorithm",
       r.signer_public_key AS "signerPublicKey", o.status, o.tx_hash AS "txHash", o.attempts`,
      { from: 'usage_records r', on: 'r.id = o.usage_record_id' },
    );
    if (entries.length === 0) return 0;
    let outcomes: Map<string, ReportOutcome>;
    try {
      outcomes = await this.reporter.report(entries, { markBroadcast: (ids, txHash) => this.outbox.markBroadcast(ids, txHash) });
    } catch (error) {
      const reason = (error as Error).message;
      outcomes = new Map(entries.map((e) => [e.usageRecordId, { kind: 'retry', reason } as const]));
    }
    for (const entry of entries) {
      const outcome = outcomes.get(entry.usageRecordId) ?? { kind: 'retry', reason: 'the reporter gave no outcome' };
      await this.outbox.settle(
        entry.usageRecordId,
        entry.attempts,
        outcome.kind === 'broadcast' ? { ...outcome, recheckSeconds: this.options.confirmAfterSeconds } : outcome,
      );
    }
    return entries.length;
  }
}
