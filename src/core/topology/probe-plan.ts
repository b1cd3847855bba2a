/** Probe requests: which pairs the agents should measure next, within maxProbeRequests. */
import type { GroupingState } from './grouping-state';
import type { TopK } from './top-k';
import type { ProbeRequest, Unassigned } from './types';

export function probeRequest(x: string, y: string, reason: ProbeRequest['reason']): ProbeRequest {
  return x < y ? { a: x, b: y, reason } : { a: y, b: x, reason };
}

export function planProbeRequests(state: GroupingState, violationProbes: ProbeRequest[], unassigned: Unassigned[], inferred: TopK): ProbeRequest[] {
  const ids = state.graph.ids;
  const probeRequests: ProbeRequest[] = [...violationProbes];
  const budget = () => state.maxProbeRequests - probeRequests.length;
  for (const u of unassigned) {
    if (budget() <= 0) break;
    for (const target of probeTargets(state, state.graph.index.get(u.node) ?? -1)) {
      if (budget() <= 0) break;
      probeRequests.push(probeRequest(u.node, ids[target], 'unassigned'));
    }
  }
  for (const e of inferred.items()) {
    if (budget() <= 0) break;
    probeRequests.push({ ...probeRequest(ids[e.a], ids[e.b], 'inferred'), inferredUpperBoundMs: e.ub, boundMs: e.bound });
  }
  return probeRequests;
}

/**
 * Whom an unassigned node should measure: anchors of up to two islands with its hard tags, preferring
 * islands holding its measured neighbours, then islands whose anchor shares its zone, then region.
 */
function probeTargets(state: GroupingState, m: number): number[] {
  if (m < 0) return [];
  const { graph, islands, nodes } = state;
  const score = new Map<number, number>();
  const bump = (k: number, s: number) => {
    const isl = islands[k];
    if (!isl.alive || isl.group !== state.hardTagGroup[m] || isl.members.length === 0) return;
    score.set(k, (score.get(k) ?? 0) + s);
  };
  for (let e = graph.offsets[m]; e < graph.offsets[m + 1]; e++) {
    const k = state.nodeIsland[graph.nbr[e]];
    if (k >= 0) bump(k, 1000);
  }
  const tags = nodes[m].tags ?? {};
  for (let k = 0; k < islands.length; k++) {
    const isl = islands[k];
    if (!isl.alive || isl.members.length === 0) continue;
    const at = nodes[isl.anchor].tags ?? {};
    if (tags.zone !== undefined && at.zone === tags.zone) bump(k, 10);
    else if (tags.region !== undefined && at.region === tags.region) bump(k, 1);
  }
  return [...score.entries()]
    .sort((x, y) => y[1] - x[1] || (islands[x[0]].id < islands[y[0]].id ? -1 : 1))
    .slice(0, 2)
    .map(([k]) => islands[k].anchor)
    .filter((a) => a !== m);
}
