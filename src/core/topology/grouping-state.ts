/**
 * What the grouping phases share: the options and tiers resolved from the input, the measured graph
 * with its bound and shortest-path workspaces, and the islands as they stand. One per computeIslands
 * call; the phases (keep-previous.ts, join-existing.ts, form-new.ts, then result.ts) work on it in turn.
 */
import { PairBounds } from './bounds';
import { buildGraph, ShortestPaths, type LatencyGraph, type SparseDist } from './graph';
import type { TopologyInput, TopologyNode, Violation } from './types';

export const DEFAULTS = {
  hysteresisMargin: 0.1,
  minIslandSize: 2,
  staleAfterMs: 60 * 60 * 1000,
  maxLoss: 0.05,
  inferenceSafetyFactor: 1.1,
  maxProbeRequests: 1000,
  allowUpgrades: true,
} as const;

export interface ResolvedTier {
  name: string;
  boundMs: number;
  /** Join bound: boundMs / (1 + margin). */
  joinMs: number;
  minSize: number;
}

export interface IslandState {
  id: string;
  tier: number;
  group: number;
  members: number[];
  anchor: number;
  /** Inference waypoints (anchor first, then anchors of merged islands) and their shortest-path trees. */
  waypoints: number[];
  dists: SparseDist[];
  kept: boolean;
  formedNow: boolean;
  alive: boolean;
}

export interface PreviousMeta {
  tier?: string;
  anchor?: string;
  waypoints?: string[];
}

export interface GroupingState {
  readonly tiers: ResolvedTier[];
  readonly safety: number;
  readonly maxIslandSize: number;
  readonly maxProbeRequests: number;
  readonly allowUpgrades: boolean;
  readonly requiredChangesOnly: boolean;
  readonly holdTier: ReadonlySet<string>;
  /** Sorted by id: a node's index here is its index in the graph. */
  readonly nodes: TopologyNode[];
  readonly nodeCount: number;
  readonly sampleCount: number;
  readonly graph: LatencyGraph;
  readonly pairBounds: PairBounds;
  readonly shortestPaths: ShortestPaths;
  readonly hardTagGroup: Int32Array;
  readonly busy: Uint8Array;
  readonly previousIsland: (string | undefined)[];
  readonly previousMeta: Map<string, PreviousMeta>;
  readonly islands: IslandState[];
  readonly nodeIsland: Int32Array;
  /** Largest island size a node reached in a dissolved island (for the unassigned reason). */
  readonly dissolvedFrom: Int32Array;
  readonly violations: Violation[];
}

export function createGroupingState(input: TopologyInput): GroupingState {
  const o = input.options ?? {};
  const margin = o.hysteresisMargin ?? DEFAULTS.hysteresisMargin;
  const safety = o.inferenceSafetyFactor ?? DEFAULTS.inferenceSafetyFactor;
  const maxIslandSize = o.maxIslandSize ?? Infinity;
  if (!(margin >= 0 && Number.isFinite(margin))) throw new Error('hysteresisMargin must be a finite number >= 0');
  if (!(safety >= 1 && Number.isFinite(safety))) throw new Error('inferenceSafetyFactor must be a finite number >= 1');
  if (!(maxIslandSize >= 1)) throw new Error('maxIslandSize must be >= 1');
  const tiers = resolveTiers(input, margin, o.minIslandSize ?? DEFAULTS.minIslandSize);

  const nodes = [...input.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < nodes.length; i++) {
    if (nodes[i].id === nodes[i - 1].id) throw new Error(`duplicate node id ${nodes[i].id}`);
  }
  const ids = nodes.map((x) => x.id);
  const nodeCount = ids.length;
  let newest = -Infinity;
  for (const s of input.samples) if (s.measuredAt > newest) newest = s.measuredAt;
  const graph = buildGraph(ids, input.samples, {
    nowMs: o.nowMs ?? (Number.isFinite(newest) ? newest : 0),
    staleAfterMs: o.staleAfterMs ?? DEFAULTS.staleAfterMs,
    maxLoss: o.maxLoss ?? DEFAULTS.maxLoss,
  });

  const previousMeta = new Map<string, PreviousMeta>();
  const fromMembers = new Map<string, string>();
  for (const p of input.previous ?? []) {
    previousMeta.set(p.id, { tier: p.tier, anchor: p.anchor, waypoints: p.waypoints });
    for (const m of p.members ?? []) if (!fromMembers.has(m)) fromMembers.set(m, p.id);
  }

  return {
    tiers,
    safety,
    maxIslandSize,
    maxProbeRequests: o.maxProbeRequests ?? DEFAULTS.maxProbeRequests,
    allowUpgrades: o.allowUpgrades ?? DEFAULTS.allowUpgrades,
    requiredChangesOnly: o.requiredChangesOnly ?? false,
    holdTier: new Set(o.holdTier ?? []),
    nodes,
    nodeCount,
    sampleCount: input.samples.length,
    graph,
    pairBounds: new PairBounds(graph, safety),
    shortestPaths: new ShortestPaths(graph),
    hardTagGroup: hardTagGroups(nodes),
    busy: Uint8Array.from(nodes.map((x) => (x.busy ? 1 : 0))),
    previousIsland: nodes.map((x) => x.currentIsland ?? fromMembers.get(x.id)),
    previousMeta,
    islands: [],
    nodeIsland: new Int32Array(nodeCount).fill(-1),
    dissolvedFrom: new Int32Array(nodeCount),
    violations: [],
  };
}

function resolveTiers(input: TopologyInput, margin: number, defaultMin: number): ResolvedTier[] {
  if (input.tiers.length === 0) throw new Error('at least one tier is required');
  const names = new Set<string>();
  for (const t of input.tiers) {
    if (!(t.boundMs > 0 && Number.isFinite(t.boundMs))) throw new Error(`tier ${t.name}: boundMs must be a positive number`);
    if (names.has(t.name)) throw new Error(`duplicate tier ${t.name}`);
    names.add(t.name);
  }
  return [...input.tiers]
    .sort((x, y) => x.boundMs - y.boundMs || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .map((t) => ({
      name: t.name,
      boundMs: t.boundMs,
      joinMs: t.boundMs / (1 + margin),
      minSize: Math.max(1, t.minIslandSize ?? defaultMin),
    }));
}

/** Hard-tag groups: the exact map (sorted keys) is the group; group ids follow the sorted keys. */
function hardTagGroups(nodes: TopologyNode[]): Int32Array {
  const keyOf = (x: TopologyNode) => JSON.stringify(Object.entries(x.hardTags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const keys = [...new Set(nodes.map(keyOf))].sort();
  const groupIds = new Map(keys.map((k, i) => [k, i]));
  return Int32Array.from(nodes.map((x) => groupIds.get(keyOf(x)) ?? 0));
}
