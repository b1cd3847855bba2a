/** Step 3a and 3e (see islands.ts): nodes join existing islands of a tier, kept members upgrade into them. */
import type { GroupingState } from './grouping-state';
import { addMember } from './membership';
import { fitsLoaded } from './pair-checks';

export function unplaced(state: GroupingState): number[] {
  const out: number[] = [];
  for (let i = 0; i < state.nodeCount; i++) if (state.nodeIsland[i] < 0) out.push(i);
  return out;
}

/** Pool nodes join existing islands of tier t where every pair fits the join bound; returns the rest. */
export function joinExisting(state: GroupingState, pool: number[], t: number): number[] {
  if (pool.length === 0 || !state.islands.some((x) => x.alive && x.tier === t)) return pool;
  const wanted = new Uint8Array(state.nodeCount);
  for (const m of pool) wanted[m] = 1;
  const reach = reachOf(state, t, wanted);
  const join = state.tiers[t].joinMs;
  const rest: number[] = [];
  for (const m of pool) {
    let placed = false;
    for (const k of candidateIslands(state, m, t, reach, -1)) {
      const isl = state.islands[k];
      if (isl.members.length >= state.maxIslandSize) continue;
      state.pairBounds.setWaypoints(isl.dists);
      if (fitsLoaded(state.pairBounds, m, isl, join)) {
        addMember(state, k, m);
        placed = true;
        break;
      }
    }
    if (!placed) rest.push(m);
  }
  return rest;
}

/** Kept, non-busy members of looser kept islands move into an island of tier t if they fit its join bound. */
export function upgradeMembers(state: GroupingState, t: number): void {
  const join = state.tiers[t].joinMs;
  for (let k = 0; k < state.islands.length; k++) {
    const src = state.islands[k];
    if (!src.alive || !src.kept || src.tier <= t) continue;
    for (const m of [...src.members].sort((a, b) => a - b)) {
      if (state.busy[m] || m === src.anchor) continue;
      if (src.members.length - 1 < state.tiers[src.tier].minSize) break;
      for (const d of candidateIslands(state, m, t, null, k)) {
        const dst = state.islands[d];
        if (dst.members.length >= state.maxIslandSize) continue;
        state.pairBounds.setWaypoints(dst.dists);
        if (fitsLoaded(state.pairBounds, m, dst, join)) {
          src.members = src.members.filter((x) => x !== m);
          addMember(state, d, m);
          break;
        }
      }
    }
  }
}

/** Candidate islands of tier t for node m, most measured close neighbours first, then id. */
function candidateIslands(state: GroupingState, m: number, t: number, reach: Map<number, number[]> | null, exclude: number): number[] {
  const { graph, islands, hardTagGroup } = state;
  const join = state.tiers[t].joinMs;
  const score = new Map<number, number>();
  for (let e = graph.offsets[m]; e < graph.offsets[m + 1]; e++) {
    if (graph.rtt[e] > join) continue;
    const k = state.nodeIsland[graph.nbr[e]];
    if (k < 0 || k === exclude) continue;
    const isl = islands[k];
    if (isl.tier !== t || isl.group !== hardTagGroup[m]) continue;
    score.set(k, (score.get(k) ?? 0) + 1);
  }
  for (const k of reach?.get(m) ?? []) {
    const isl = islands[k];
    if (k !== exclude && isl.alive && isl.tier === t && isl.group === hardTagGroup[m] && !score.has(k)) score.set(k, 0);
  }
  return [...score.entries()].sort((x, y) => y[1] - x[1] || (islands[x[0]].id < islands[y[0]].id ? -1 : 1)).map(([k]) => k);
}

/** Nodes reachable (within the join bound) from the anchor of some island of tier t: node -> islands. */
function reachOf(state: GroupingState, t: number, wanted: Uint8Array): Map<number, number[]> {
  const reach = new Map<number, number[]>();
  const limit = state.tiers[t].joinMs / state.safety;
  for (let k = 0; k < state.islands.length; k++) {
    const isl = state.islands[k];
    if (!isl.alive || isl.tier !== t) continue;
    const d = isl.dists[0];
    for (let i = 0; i < d.nodes.length; i++) {
      const v = d.nodes[i];
      if (!wanted[v] || d.dist[i] > limit) continue;
      const list = reach.get(v);
      if (list) list.push(k);
      else reach.set(v, [k]);
    }
  }
  return reach;
}
