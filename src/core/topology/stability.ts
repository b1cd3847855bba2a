/**
 * Hysteresis in time for island grouping. computeIslands already has hysteresis in latency (join
 * below bound / (1 + margin), stay up to the bound); this adds persistence: a change the bounds do
 * not force (a node joining or moving to a better island, an island relabelled to a tighter tier,
 * a new island) is made only after the same change was proposed in `confirmRounds` consecutive
 * passes, and at most `maxOptionalChangesPerHour` such changes are made in any hour. Changes the
 * bounds force (a member whose pairs now break its island's bound, an island that must relax to a
 * looser tier) are made at once: the latency guarantee is never traded for stability.
 *
 * Pure: the caller keeps the returned state between passes and passes the clock in.
 */
import { computeIslands } from './islands';
import type { TopologyInput, TopologyResult } from './types';

export interface StabilityOptions {
  /** Passes in a row that must propose the same optional change before it is made (default 3). */
  confirmRounds?: number;
  /**
   * Moves of nodes that already have an island, and tier changes, made at most per sliding hour
   * (default 60). Placing a node that has none (a join) needs persistence only: it disturbs nobody.
   */
  maxChurnPerHour?: number;
}

export interface StabilityState {
  /** Per node or island: the optional change proposed, and in how many passes in a row. */
  pending: Record<string, { change: string; rounds: number }>;
  /** Times (epoch ms) of the moves and tier changes made in the last hour. */
  made: number[];
}

export const EMPTY_STABILITY_STATE: StabilityState = { pending: {}, made: [] };

export interface StableResult {
  result: TopologyResult;
  state: StabilityState;
  /** Optional changes proposed this pass but held back (not yet persistent, or over the hourly budget). */
  heldBack: number;
  /** Optional changes made this pass. */
  made: number;
}

const HOUR_MS = 3_600_000;

/** Each node's island (undefined: none) in a result, and each island's tier. */
function positions(result: TopologyResult): { island: Map<string, string>; tier: Map<string, string> } {
  const island = new Map<string, string>();
  const tier = new Map<string, string>();
  for (const isl of result.islands) {
    tier.set(isl.id, isl.tier);
    for (const m of isl.members) island.set(m, isl.id);
  }
  return { island, tier };
}

/**
 * The optional changes of `full` over `forced` (the same pass with only forced changes): each node
 * placed differently, each island labelled differently, as "key -> change" (a change is described by
 * where it goes, so a proposal that keeps changing its mind never persists).
 */
function optionalChanges(full: TopologyResult, forced: TopologyResult): Map<string, string> {
  const f = positions(full);
  const r = positions(forced);
  const changes = new Map<string, string>();
  const nodes = new Set([...f.island.keys(), ...r.island.keys()]);
  for (const node of nodes) {
    const to = f.island.get(node);
    const from = r.island.get(node);
    if (to !== from) changes.set(`${from === undefined ? 'join' : 'move'}:${node}`, `${to ?? '-'}@${to ? f.tier.get(to) : '-'}`);
  }
  for (const [id, tier] of f.tier) {
    const kept = r.tier.get(id);
    if (kept !== undefined && kept !== tier) changes.set(`tier:${id}`, tier);
  }
  return changes;
}

/** Whether `result` places every node where it is now and keeps every island's tier. */
function unchanged(input: TopologyInput, result: TopologyResult): boolean {
  const now = positions(result);
  const tiers = new Map((input.previous ?? []).map((p) => [p.id, p.tier]));
  if (result.islands.some((isl) => tiers.get(isl.id) !== isl.tier)) return false;
  return input.nodes.every((node) => now.island.get(node.id) === node.currentIsland);
}

/**
 * One formation pass with time hysteresis. `input.previous` and the nodes' `currentIsland` are the
 * islands as they are now (the last applied result). Usually costs one computeIslands run (nothing
 * optional proposed), else two or three.
 */
export function stableIslands(input: TopologyInput, state: StabilityState, nowMs: number, options: StabilityOptions = {}): StableResult {
  const confirmRounds = Math.max(1, options.confirmRounds ?? 3);
  const budget = Math.max(0, options.maxChurnPerHour ?? 60);
  const made = state.made.filter((t) => t > nowMs - HOUR_MS);

  const full = computeIslands(input);
  // Nothing changed at all (the usual pass): there is nothing to hold back, and no second run is needed.
  if (unchanged(input, full)) return { result: full, state: { pending: {}, made }, heldBack: 0, made: 0 };
  const forced = computeIslands({ ...input, options: { ...input.options, requiredChangesOnly: true } });
  const proposed = optionalChanges(full, forced);
  if (proposed.size === 0) return { result: full, state: { pending: {}, made }, heldBack: 0, made: 0 };

  // Count how long each proposal has persisted; a key proposed differently (or not at all) starts over.
  const pending: StabilityState['pending'] = {};
  for (const [key, change] of proposed) {
    const before = state.pending[key];
    pending[key] = { change, rounds: before?.change === change ? before.rounds + 1 : 1 };
  }
  let room = budget - made.length;
  const confirmed = new Set<string>();
  const churn: number[] = [];
  for (const key of [...proposed.keys()].sort()) {
    if (pending[key].rounds < confirmRounds) continue;
    if (key.startsWith('join:')) confirmed.add(key);
    else if (room > 0) {
      confirmed.add(key);
      churn.push(nowMs);
      room--;
    }
  }
  if (confirmed.size === proposed.size) return { result: full, state: { pending: {}, made: [...made, ...churn] }, heldBack: 0, made: confirmed.size };

  // Hold the rest back: a node whose move is not confirmed stays where the forced result keeps it
  // (busy there, which the forced result has just shown to be within the bound), one not placed
  // there waits outside the grouping, and an island whose relabelling is not confirmed keeps its tier.
  const kept = positions(forced).island;
  const holdTier: string[] = [];
  const waiting = new Set<string>();
  const pinned = new Set<string>();
  for (const key of proposed.keys()) {
    if (confirmed.has(key)) continue;
    const [kind, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (kind === 'tier') holdTier.push(name);
    else if (kept.has(name)) pinned.add(name);
    else waiting.add(name);
  }
  const result = computeIslands({
    ...input,
    nodes: input.nodes
      .filter((node) => !waiting.has(node.id))
      .map((node) => (pinned.has(node.id) ? { ...node, busy: true, currentIsland: kept.get(node.id) } : node)),
    options: { ...input.options, holdTier: [...(input.options?.holdTier ?? []), ...holdTier] },
  });
  const unassigned = [...result.unassigned.filter((u) => !waiting.has(u.node)), ...[...waiting].sort().map((node) => ({ node, reason: 'pending' as const }))];
  const stillPending = Object.fromEntries(Object.entries(pending).filter(([key]) => !confirmed.has(key)));
  return {
    result: { ...result, unassigned, stats: { ...result.stats, unassigned: unassigned.length } },
    state: { pending: stillPending, made: [...made, ...churn] },
    heldBack: proposed.size - confirmed.size,
    made: confirmed.size,
  };
}
