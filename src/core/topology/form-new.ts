/** Step 3b to 3d (see islands.ts): new islands of a tier are formed, merged, and dissolved when too small. */
import { MAX_WAYPOINTS } from './bounds';
import { measured } from './graph';
import type { GroupingState, IslandState } from './grouping-state';
import { addMember, dissolve } from './membership';
import { crossFits, fitsLoaded } from './pair-checks';

/** Greedy center-based clustering of the pool into new islands of tier t, per hard-tag group. */
export function formNew(state: GroupingState, pool: number[], t: number): void {
  const { joinMs, boundMs } = state.tiers[t];
  const { offsets, nbr, rtt } = state.graph;
  const { hardTagGroup, pairBounds } = state;
  const available = new Uint8Array(state.nodeCount);
  for (const m of pool) available[m] = 1;
  const score = new Int32Array(state.nodeCount);
  const close = joinMs / 2;
  for (const m of pool) {
    for (let e = offsets[m]; e < offsets[m + 1]; e++) {
      const x = nbr[e];
      if (rtt[e] <= close && available[x] && hardTagGroup[x] === hardTagGroup[m]) score[m]++;
    }
  }
  let remaining = pool.length;
  const take = (m: number) => {
    available[m] = 0;
    remaining--;
    for (let e = offsets[m]; e < offsets[m + 1]; e++) {
      const x = nbr[e];
      if (rtt[e] <= close && available[x] && hardTagGroup[x] === hardTagGroup[m]) score[x]--;
    }
  };
  while (remaining > 0) {
    // Densest available node (ties: lowest group, then lowest index) anchors the next island.
    let c = -1;
    for (const m of pool) {
      if (!available[m]) continue;
      if (c < 0 || score[m] > score[c]) c = m;
    }
    const dist = state.shortestPaths.from(c, boundMs / state.safety);
    const isl: IslandState = {
      id: '',
      tier: t,
      group: hardTagGroup[c],
      members: [c],
      anchor: c,
      waypoints: [c],
      dists: [dist],
      kept: false,
      formedNow: true,
      alive: true,
    };
    const k = state.islands.length;
    state.islands.push(isl);
    state.nodeIsland[c] = k;
    take(c);
    pairBounds.setWaypoints(isl.dists);
    const joinPath = joinMs / state.safety;
    for (let i = 1; i < dist.nodes.length && isl.members.length < state.maxIslandSize; i++) {
      const m = dist.nodes[i];
      if (!available[m] || hardTagGroup[m] !== isl.group) continue;
      const direct = measured(state.graph, c, m);
      if (direct !== undefined ? direct > joinMs : dist.dist[i] > joinPath) continue;
      if (fitsLoaded(pairBounds, m, isl, joinMs)) {
        addMember(state, k, m);
        take(m);
      }
    }
  }
}

/** Each island formed now for tier t (smallest first) merges into another island of the tier if every cross pair fits. */
export function mergeNew(state: GroupingState, t: number): void {
  const { graph, islands } = state;
  const join = state.tiers[t].joinMs;
  const order = islands
    .map((isl, k) => ({ isl, k }))
    .filter(({ isl }) => isl.alive && isl.formedNow && isl.tier === t)
    .sort((x, y) => x.isl.members.length - y.isl.members.length || x.isl.anchor - y.isl.anchor)
    .map(({ k }) => k);
  for (const a of order) {
    const A = islands[a];
    if (!A.alive) continue;
    const edges = new Map<number, number>();
    for (const m of A.members) {
      for (let e = graph.offsets[m]; e < graph.offsets[m + 1]; e++) {
        if (graph.rtt[e] > join) continue;
        const k = state.nodeIsland[graph.nbr[e]];
        if (k < 0 || k === a) continue;
        const B = islands[k];
        if (B.tier !== t || B.group !== A.group) continue;
        edges.set(k, (edges.get(k) ?? 0) + 1);
      }
    }
    const targets = [...edges.entries()].sort((x, y) => y[1] - x[1] || islands[x[0]].anchor - islands[y[0]].anchor).map(([k]) => k);
    for (const b of targets) {
      const B = islands[b];
      if (A.waypoints.length + B.waypoints.length > MAX_WAYPOINTS) continue;
      if (A.members.length + B.members.length > state.maxIslandSize) continue;
      if (!crossFits(state.pairBounds, A, B, join)) continue;
      for (const m of A.members) addMember(state, b, m);
      B.waypoints.push(...A.waypoints);
      B.dists.push(...A.dists);
      A.alive = false;
      A.members = [];
      break;
    }
  }
}

export function dissolveSmallNew(state: GroupingState, t: number): void {
  for (let k = 0; k < state.islands.length; k++) {
    const isl = state.islands[k];
    if (isl.alive && isl.formedNow && isl.tier === t && isl.members.length < state.tiers[t].minSize) dissolve(state, k);
  }
}
