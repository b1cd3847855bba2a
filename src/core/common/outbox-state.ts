/**
 * The one state machine of every outbox (usage reports, chain messages): an entry is PENDING until
 * a send is journaled (BROADCAST, with the transaction hash known before sending), then confirmed
 * by that hash, never sent blindly again. COMMITTED, REJECTED, SKIPPED and SUPERSEDED are final.
 */
export type OutboxStatus = 'PENDING' | 'BROADCAST' | 'COMMITTED' | 'REJECTED' | 'SKIPPED' | 'SUPERSEDED';

/** What became of one entry's send. */
export type OutboxOutcome =
  /** In a block, successfully. */
  | { kind: 'committed'; txHash: string }
  /** Sent, not confirmed yet: offered again after `recheckSeconds` to confirm by hash. */
  | { kind: 'broadcast'; txHash: string; recheckSeconds: number }
  /** The chain refused it; its reason is kept and shown. */
  | { kind: 'rejected'; reason: string }
  /** Nothing to send there (a job that is not on the chain). */
  | { kind: 'skipped'; reason: string }
  /** A newer entry replaces it (a liveness round whose sequence would be stale). */
  | { kind: 'superseded' }
  /** Could not tell (chain unreachable, out of gas): again after a back-off that grows with attempts. */
  | { kind: 'retry'; reason: string };

/** Only entries still open move; a final entry never changes again. */
export const OPEN_STATUSES: readonly OutboxStatus[] = ['PENDING', 'BROADCAST'];

/** Seconds before the next try of an entry tried `attempts` times: doubling, capped. */
export function retryDelaySeconds(attempts: number, maxSeconds: number): number {
  return Math.min(maxSeconds, 2 ** Math.min(Math.max(attempts, 0), 20));
}

/** The columns an outcome sets (besides updated_at); `next_attempt_in` is seconds from now. */
export function settledColumns(
  outcome: OutboxOutcome,
  attempts: number,
  maxBackoffSeconds: number,
): { status?: OutboxStatus; tx_hash?: string; last_error?: string | null; next_attempt_in?: number } {
  switch (outcome.kind) {
    case 'committed':
      return { status: 'COMMITTED', tx_hash: outcome.txHash, last_error: null };
    case 'broadcast':
      return { status: 'BROADCAST', tx_hash: outcome.txHash, next_attempt_in: outcome.recheckSeconds };
    case 'rejected':
      return { status: 'REJECTED', last_error: outcome.reason };
    case 'skipped':
      return { status: 'SKIPPED', last_error: outcome.reason };
    case 'superseded':
      return { status: 'SUPERSEDED' };
    case 'retry':
      return { last_error: outcome.reason, next_attempt_in: retryDelaySeconds(attempts, maxBackoffSeconds) };
  }
}
