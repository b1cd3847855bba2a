import { apportion } from './largest-remainder';

/**
 * Reward formula `archipelago.rewards/v1`. The billed amount of a job (integer micro-denom) is
 * split, in integers that sum to EXACTLY the billed amount:
 *   1. platform / providers / nodes by the shares in parts per million (default the chain's
 *      params: 50 000 / 800 000 / 150 000 = 5 % / 80 % / 15 %);
 *   2. the node pool between the job's nodes in proportion to their CONTRIBUTION =
 *      node-seconds × benchmark score (milli-units, 1000 = the reference node), instead of the
 *      chain's equal split among all active nodes;
 *   3. the provider pool between the providers of those nodes in proportion to the sum of their
 *      nodes' contributions (an island may hold nodes of several providers).
 * Every split uses largest-remainder rounding (ties to the smaller key). Special cases: when every
 * contribution is zero (a job that ran 0 s) the nodes count equally; when no node ran the job
 * at all, the provider and node pools go to the platform (there is nobody to reward).
 */
export const REWARD_FORMULA_VERSION = 'archipelago.rewards/v1';

export interface RewardShares {
  platformPpm: number;
  providerPpm: number;
  nodesPpm: number;
}

export const DEFAULT_REWARD_SHARES: RewardShares = { platformPpm: 50_000, providerPpm: 800_000, nodesPpm: 150_000 };

/** A reference node scores 1000. */
export const REFERENCE_BENCHMARK_SCORE = 1000;

export interface Contribution {
  node: string;
  /** Who is paid for the node (a principal id, or a stand-in such as `island:<name>` for nodes nobody registered). */
  provider: string;
  nodeSeconds: number;
  /** Positive integer, milli-units of the reference node. */
  benchmarkScore: number;
}

export interface RewardSplit {
  formula: string;
  shares: RewardShares;
  /** All amounts are decimal strings of integer micro-denom. */
  billed: string;
  platform: string;
  providers: Array<{ provider: string; amount: string }>;
  nodes: Array<{ node: string; provider: string; weight: string; amount: string }>;
}

export function splitRewards(billed: bigint, contributions: readonly Contribution[], shares: RewardShares = DEFAULT_REWARD_SHARES): RewardSplit {
  checkShares(shares);
  for (const c of contributions) {
    if (!Number.isSafeInteger(c.nodeSeconds) || c.nodeSeconds < 0) throw new RangeError(`node ${c.node}: nodeSeconds must be a non-negative integer`);
    if (!Number.isSafeInteger(c.benchmarkScore) || c.benchmarkScore <= 0) throw new RangeError(`node ${c.node}: benchmarkScore must be a positive integer`);
  }
  const pools = apportion(billed, [
    ['platform', BigInt(shares.platformPpm)],
    ['providers', BigInt(shares.providerPpm)],
    ['nodes', BigInt(shares.nodesPpm)],
  ] as const);
  const base = { formula: REWARD_FORMULA_VERSION, shares: { ...shares }, billed: billed.toString() };
  if (contributions.length === 0) return { ...base, platform: billed.toString(), providers: [], nodes: [] };

  let weights = contributions.map((c) => [c.node, BigInt(c.nodeSeconds) * BigInt(c.benchmarkScore)] as const);
  if (weights.every(([, w]) => w === 0n)) weights = weights.map(([node]) => [node, 1n] as const);
  const weightOf = new Map(weights);
  const nodeAmounts = apportion(pools.get('nodes')!, weights);

  const providerWeights = new Map<string, bigint>();
  for (const c of contributions) providerWeights.set(c.provider, (providerWeights.get(c.provider) ?? 0n) + weightOf.get(c.node)!);
  const providerAmounts = apportion(pools.get('providers')!, [...providerWeights]);

  return {
    ...base,
    platform: pools.get('platform')!.toString(),
    providers: [...providerAmounts].map(([provider, amount]) => ({ provider, amount: amount.toString() })).sort(byKey((p) => p.provider)),
    nodes: contributions
      .map((c) => ({ node: c.node, provider: c.provider, weight: weightOf.get(c.node)!.toString(), amount: nodeAmounts.get(c.node)!.toString() }))
      .sort(byKey((n) => n.node)),
  };
}

function checkShares(shares: RewardShares): void {
  const all = [shares.platformPpm, shares.providerPpm, shares.nodesPpm];
  if (!all.every((s) => Number.isSafeInteger(s) && s >= 0) || all.reduce((a, b) => a + b, 0) !== 1_000_000) {
    throw new RangeError('reward shares must be non-negative integers (ppm) summing to 1 000 000');
  }
}

function byKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}
