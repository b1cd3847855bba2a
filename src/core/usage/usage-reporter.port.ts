/**
 * Where signed usage records go after the outbox: the chain (MsgReportJobStatus with the record's
 * metrics and signature, through the chain client) or anything else that reports them. The outbox
 * drainer (outbox-drainer.ts) hands entries over in batches and records each outcome; the reporter
 * owns the chain's rules (legal transitions, batching into transactions, fees, sequences).
 *
 * At most once, across crashes: before it broadcasts a transaction, a reporter MUST call
 * `journal.markBroadcast` with the entries and the transaction's hash (known before sending). An
 * entry offered again with status BROADCAST must then be CONFIRMED by searching for that hash,
 * never blindly sent again: a crash between broadcast and confirmation cannot duplicate it.
 */
export interface OutboxEntry {
  usageRecordId: string;
  jobId: string;
  island: string;
  slurmJobId: string;
  /** The record's canonical JSON (src/core/usage/usage-record.ts) and its SHA-256, hex. */
  canonical: string;
  contentHash: string;
  signature: Buffer;
  signatureAlgorithm: string;
  signerPublicKey: string;
  status: 'PENDING' | 'BROADCAST';
  /** Set once a broadcast was journaled. */
  txHash: string | null;
  attempts: number;
}

export type ReportOutcome =
  /** In a block, successfully. Final. */
  | { kind: 'committed'; txHash: string }
  /** Sent, not confirmed yet: offered again later for confirmation. */
  | { kind: 'broadcast'; txHash: string }
  /** The chain refused it (its reason is kept and shown). Final: never retried blindly. */
  | { kind: 'rejected'; reason: string }
  /** Nothing to report there (e.g. a job that is not on the chain). Final. */
  | { kind: 'skipped'; reason: string }
  /** Could not tell (chain unreachable, out of gas...): try again later with back-off. */
  | { kind: 'retry'; reason: string };

export interface BroadcastJournal {
  markBroadcast(usageRecordIds: string[], txHash: string): Promise<void>;
}

export interface UsageReporter {
  /** An outcome per entry, keyed by usageRecordId; an entry without one is retried. Throwing = retry all. */
  report(entries: OutboxEntry[], journal: BroadcastJournal): Promise<Map<string, ReportOutcome>>;
}

/** Nest token: bind a UsageReporter to it and the worker drains the outbox through it. */
export const USAGE_REPORTER = Symbol('USAGE_REPORTER');
