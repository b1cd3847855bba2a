/** Step 5 (see islands.ts): the final validation of every island, at the keep bound over all pairs. */
import { PairKind } from './bounds';
import type { GroupingState, IslandState, ResolvedTier } from './grouping-state';
import { repair } from './membership';
import { scanPairs } from './pair-checks';
import { probeRequest } from './probe-plan';
import { TopK } from './top-k';
import type { Island, ProbeRequest, Violation } from './types';

export interface ValidatedIslands {
  islands: Island[];
  inferredProbes: TopK;
  violationProbes: ProbeRequest[];
  probeCandidates: number;
  measuredPairs: number;
  inferredPairs: number;
  repaired: number[];
}

export function validateIslands(state: GroupingState): ValidatedIslands {
  const ids = state.graph.ids;
  const probes = new TopK(state.maxProbeRequests);
  const violationProbes: ProbeRequest[] = [];
  let probeCandidates = 0;
  let measuredPairsIn = 0;
  let inferredPairsIn = 0;
  const out: Island[] = [];
  const alive = state.islands
    .map((isl, k) => ({ isl, k }))
    .filter(({ isl }) => isl.alive && isl.members.length > 0)
    .sort((x, y) => (x.isl.id < y.isl.id ? -1 : 1));
  const repaired: number[] = [];
  for (const { isl, k } of alive) {
    const tier = state.tiers[isl.tier];
    // One scan normally; a repair (never expected) means a second one over the remaining members.
    const first = measureIsland(state, isl, tier);
    if (first.needsRepair) repaired.push(...repair(state, k, tier.boundMs));
    if (isl.members.length === 0) continue;
    const { diameter, measuredDiameter, mp, ip, within, local } = first.needsRepair ? measureIsland(state, isl, tier) : first;
    for (const v of local.violations) {
      state.violations.push({ ...v, island: isl.id });
      if (v.kind === 'busy-unbounded') violationProbes.push(probeRequest(v.nodes[0], v.nodes[1], 'violation'));
    }
    probeCandidates += local.probes.seen;
    for (const e of local.probes.items()) probes.push(e.score, e.a, e.b, e.ub, e.bound);
    measuredPairsIn += mp;
    inferredPairsIn += ip;
    const members = [...isl.members].sort((a, b) => a - b);
    out.push({
      id: isl.id,
      tier: tier.name,
      boundMs: tier.boundMs,
      members: members.map((m) => ids[m]),
      anchor: ids[isl.anchor],
      waypoints: isl.waypoints.slice(1).map((w) => ids[w]),
      diameterMs: diameter,
      measuredDiameterMs: measuredDiameter,
      measuredPairs: mp,
      inferredPairs: ip,
      withinBound: within,
      kept: isl.kept,
    });
  }
  return {
    islands: out,
    inferredProbes: probes,
    violationProbes,
    probeCandidates,
    measuredPairs: measuredPairsIn,
    inferredPairs: inferredPairsIn,
    repaired,
  };
}

/** All pairs of one island at its bound: metrics, probe candidates, busy-pair violations. */
function measureIsland(state: GroupingState, isl: IslandState, tier: ResolvedTier) {
  const { busy } = state;
  const ids = state.graph.ids;
  const bound = tier.boundMs;
  let diameter = 0;
  let measuredDiameter = 0;
  let mp = 0;
  let ip = 0;
  let within = true;
  let needsRepair = false;
  const probes = new TopK(state.maxProbeRequests);
  const violations: Array<Omit<Violation, 'island'>> = [];
  scanPairs(state.pairBounds, isl, bound, (a, b, ub, kind) => {
    if (ub > diameter) diameter = ub;
    if (kind === PairKind.Measured) {
      mp++;
      if (ub !== Infinity && ub > measuredDiameter) measuredDiameter = ub;
    } else {
      ip++;
      if (ub <= bound) probes.push(ub / bound, a, b, ub, bound);
    }
    if (ub > bound) {
      if (!(busy[a] && busy[b])) {
        needsRepair = true;
        return;
      }
      within = false;
      violations.push({
        kind: kind === PairKind.Measured && ub !== Infinity ? 'busy-over-bound' : 'busy-unbounded',
        nodes: [ids[a], ids[b]],
        boundMs: bound,
        upperBoundMs: ub,
      });
    }
  });
  return { diameter, measuredDiameter, mp, ip, within, needsRepair, local: { probes, violations } };
}
