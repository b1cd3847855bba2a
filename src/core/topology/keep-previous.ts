/** Step 2 (see islands.ts): previous islands keep their members within the keep bound, repaired, relaxed or relabelled. */
import { MAX_WAYPOINTS } from './bounds';
import type { GroupingState, IslandState } from './grouping-state';
import { dissolve, planRepair, repair } from './membership';
import { allPairsWithin } from './pair-checks';

export function keepPrevious(state: GroupingState): void {
  const byIsland = new Map<string, number[]>();
  for (let i = 0; i < state.nodeCount; i++) {
    const p = state.previousIsland[i];
    if (p === undefined) continue;
    const list = byIsland.get(p);
    if (list) list.push(i);
    else byIsland.set(p, [i]);
  }
  const ids = [...byIsland.keys()].sort();
  for (const id of ids) keepIsland(state, id, byIsland.get(id) ?? []);
}

function keepIsland(state: GroupingState, id: string, previousMembers: number[]): void {
  const { tiers, graph, busy, hardTagGroup } = state;
  const meta = state.previousMeta.get(id);
  let tier = tiers.findIndex((t) => t.name === meta?.tier);
  if (tier < 0) tier = tiers.length - 1;

  const group = majorityGroup(state, previousMembers);
  const conflicting = previousMembers.filter((m) => hardTagGroup[m] !== group && busy[m]);
  if (conflicting.length > 0) {
    state.violations.push({
      kind: 'busy-hard-tag-conflict',
      island: id,
      nodes: conflicting.map((m) => graph.ids[m]),
      boundMs: tiers[tier].boundMs,
    });
  }
  const members = previousMembers.filter((m) => hardTagGroup[m] === group || busy[m]);

  const anchorIdx = meta?.anchor !== undefined ? graph.index.get(meta.anchor) : undefined;
  const anchor =
    anchorIdx !== undefined && members.includes(anchorIdx) && hardTagGroup[anchorIdx] === group ? anchorIdx : pickAnchor(state, members, tiers[tier].joinMs);
  const waypoints = [anchor];
  for (const w of meta?.waypoints ?? []) {
    const wi = graph.index.get(w);
    if (wi !== undefined && !waypoints.includes(wi) && waypoints.length < MAX_WAYPOINTS) waypoints.push(wi);
  }
  const isl: IslandState = {
    id,
    tier,
    group,
    members,
    anchor,
    waypoints,
    dists: waypoints.map((w) => state.shortestPaths.from(w, tiers[tier].boundMs / state.safety)),
    kept: true,
    formedNow: false,
    alive: true,
  };
  const k = state.islands.length;
  state.islands.push(isl);
  for (const m of members) state.nodeIsland[m] = k;

  relaxInsteadOfBreaking(state, isl);
  tier = isl.tier;
  repair(state, k, tiers[tier].boundMs);
  if (isl.members.length < tiers[tier].minSize && !isl.members.some((m) => busy[m])) {
    dissolve(state, k);
    return;
  }
  // Relabel to a tighter tier if the island already fits it with the margin (nobody moves);
  // never forced, so not when only forced changes are wanted or the caller holds its tier.
  if (state.requiredChangesOnly || state.holdTier.has(id)) return;
  for (let t = 0; t < tier; t++) {
    if (isl.members.length >= tiers[t].minSize && allPairsWithin(state.pairBounds, isl, tiers[t].joinMs)) {
      isl.tier = t;
      break;
    }
  }
}

/** One hard-tag group per island: the busy members' majority (else everyone's), ties by group id. */
function majorityGroup(state: GroupingState, members: number[]): number {
  const { busy, hardTagGroup } = state;
  const busyMembers = members.filter((m) => busy[m]);
  const voters = busyMembers.length > 0 ? busyMembers : members;
  const counts = new Map<number, number>();
  for (const m of voters) counts.set(hardTagGroup[m], (counts.get(hardTagGroup[m]) ?? 0) + 1);
  let group = -1;
  let best = -1;
  for (const [gid, c] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
    if (c > best) {
      best = c;
      group = gid;
    }
  }
  return group;
}

/**
 * An island whose pairs drifted past its bound would lose members in repair; when that would leave
 * it below its tier's minimum (so it would dissolve and be re-formed under a new id, i.e. a new SLURM
 * cluster), it is relabelled to the tightest looser tier it still fits whole instead. Larger islands
 * keep their tier and shed the drifting members. The bound itself is never exceeded.
 */
function relaxInsteadOfBreaking(state: GroupingState, isl: IslandState): void {
  const { tiers } = state;
  const tier = isl.tier;
  const removals = planRepair(state, isl, tiers[tier].boundMs);
  if (removals.length === 0 || isl.members.length - removals.length >= tiers[tier].minSize) return;
  const original = isl.dists;
  for (let t = tier + 1; t < tiers.length; t++) {
    isl.dists = isl.waypoints.map((w) => state.shortestPaths.from(w, tiers[t].boundMs / state.safety));
    if (isl.members.length >= tiers[t].minSize && allPairsWithin(state.pairBounds, isl, tiers[t].boundMs)) {
      isl.tier = t;
      return;
    }
  }
  isl.dists = original;
}

/** Member with the most measured members within joinMs / 2; ties by index. */
function pickAnchor(state: GroupingState, members: number[], joinMs: number): number {
  const { offsets, nbr, rtt } = state.graph;
  const inIsland = new Set(members);
  let best = members[0];
  let bestScore = -1;
  for (const m of [...members].sort((a, b) => a - b)) {
    let score = 0;
    for (let e = offsets[m]; e < offsets[m + 1]; e++) {
      if (rtt[e] <= joinMs / 2 && inIsland.has(nbr[e])) score++;
    }
    if (score > bestScore) {
      bestScore = score;
      best = m;
    }
  }
  return best;
}
