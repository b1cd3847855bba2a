import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';
import type { RewardSplit } from './rewards';
import type { JobUsage } from './usage-metrics';

/**
 * The signed usage record of one job: what it used (per node and per run), what it was billed
 * and how that bill is split. Its identity is the content hash = SHA-256 of its canonical JSON
 * (src/core/common/canonical-json.ts), and the provider key signs that hash. Nothing in it depends on
 * when or by which worker it was built, so recomputing a record gives the same bytes.
 */
export const USAGE_RECORD_VERSION = 'archipelago.usage/v1';

export interface UsageRecordInput {
  jobId: string;
  ownerId: string;
  /** The job's final state in Archipelago. */
  state: string;
  usage: JobUsage;
  billing: {
    pricing: string;
    denom: string;
    rewards: RewardSplit;
  };
  /** Reward epoch (see epochOf). */
  epoch: number;
}

export interface UsageRecord {
  body: UsageRecordInput & { version: string };
  canonical: string;
  /** SHA-256 of `canonical`, hex. */
  contentHash: string;
}

export function buildUsageRecord(input: UsageRecordInput): UsageRecord {
  const body = { version: USAGE_RECORD_VERSION, ...input };
  const canonical = canonicalJson(body);
  return { body, canonical, contentHash: createHash('sha256').update(canonical, 'utf8').digest('hex') };
}

/** Rewards are grouped in epochs of `epochSeconds` (default one UTC day) by the job's last end time. */
export function epochOf(endUnixSeconds: number, epochSeconds = 86400): number {
  return Math.floor(endUnixSeconds / epochSeconds);
}
