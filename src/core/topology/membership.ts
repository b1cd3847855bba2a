/** Changes to an island's membership that keep nodeIsland (and the dissolved-from sizes) in step. */
import type { GroupingState, IslandState } from './grouping-state';
import { scanPairs } from './pair-checks';

export function addMember(state: GroupingState, k: number, m: number): void {
  state.islands[k].members.push(m);
  state.nodeIsland[m] = k;
}

export function dissolve(state: GroupingState, k: number): void {
  const isl = state.islands[k];
  isl.alive = false;
  for (const m of isl.members) {
    state.nodeIsland[m] = -1;
    state.dissolvedFrom[m] = Math.max(state.dissolvedFrom[m], isl.members.length);
  }
  isl.members = [];
}

/**
 * Remove the fewest non-busy members (greedy vertex cover) so that no pair exceeds `limit`, except
 * pairs of two busy members (those stay; island-validation.ts reports them). Waypoints stay as they
 * are, so a removal never un-bounds another pair.
 */
export function repair(state: GroupingState, k: number, limit: number): number[] {
  const isl = state.islands[k];
  const removed = planRepair(state, isl, limit);
  const gone = new Set(removed);
  if (removed.length > 0) {
    isl.members = isl.members.filter((m) => !gone.has(m));
    for (const m of removed) state.nodeIsland[m] = -1;
    if (gone.has(isl.anchor) && isl.members.length > 0) {
      // The old anchor stays a waypoint (its paths are still valid); the label moves to the member
      // nearest to it.
      const d = new Map<number, number>();
      const dist = isl.dists[0];
      for (let i = 0; i < dist.nodes.length; i++) d.set(dist.nodes[i], dist.dist[i]);
      isl.anchor = [...isl.members].sort((a, b) => (d.get(a) ?? Infinity) - (d.get(b) ?? Infinity) || a - b)[0];
    }
  }
  return removed;
}

/** The members repair would remove (fewest non-busy members covering every pair over `limit`), without removing them. */
export function planRepair(state: GroupingState, isl: IslandState, limit: number): number[] {
  const { busy } = state;
  const failing: Array<[number, number]> = [];
  scanPairs(state.pairBounds, isl, limit, (a, b, ub) => {
    if (ub > limit && !(busy[a] && busy[b])) failing.push([a, b]);
  });
  const removed: number[] = [];
  const gone = new Set<number>();
  while (true) {
    const count = new Map<number, number>();
    for (const [a, b] of failing) {
      if (gone.has(a) || gone.has(b)) continue;
      if (!busy[a]) count.set(a, (count.get(a) ?? 0) + 1);
      if (!busy[b]) count.set(b, (count.get(b) ?? 0) + 1);
    }
    if (count.size === 0) break;
    let pick = -1;
    let pickCount = -1;
    for (const [m, c] of count) {
      // Most failing pairs first; then keep the anchor; then remove the larger index.
      const better = c > pickCount || (c === pickCount && (pick === isl.anchor || (m !== isl.anchor && m > pick)));
      if (better) {
        pick = m;
        pickCount = c;
      }
    }
    gone.add(pick);
    removed.push(pick);
  }
  return removed;
}
