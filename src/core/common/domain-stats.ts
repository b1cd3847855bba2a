/**
 * What the metrics feature shows of other features' tables, each answered by the table's owner
 * (named queries; docs/architecture.md, "Who owns which table").
 */

/** The jobs feature: jobs by state and island, and the dispatch backlog. */
export interface JobStats {
  countsByStateAndIsland(): Promise<Array<{ state: string; island: string; count: number }>>;
  /** Jobs accepted and not yet handed to SLURM, and the age of the oldest (null when none). */
  dispatchBacklog(): Promise<{ depth: number; oldestAgeSeconds: number | null }>;
}

/** The nodes feature: seconds since each registered node's last heartbeat (since it joined, if never). */
export interface NodeHeartbeats {
  heartbeatAges(): Promise<Array<{ name: string; island: string; state: string; ageSeconds: number | null }>>;
}

/** The usage feature: usage outbox entries per status, and how long the oldest has waited. */
export interface UsageOutboxStats {
  outboxByStatus(): Promise<Array<{ status: string; count: number; oldestAgeSeconds: number | null }>>;
}

export const JOB_STATS = Symbol('JOB_STATS');
export const NODE_HEARTBEATS = Symbol('NODE_HEARTBEATS');
export const USAGE_OUTBOX_STATS = Symbol('USAGE_OUTBOX_STATS');
