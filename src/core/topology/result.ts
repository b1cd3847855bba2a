/** Steps 4 and 5 (see islands.ts): the grouping state turned into a TopologyResult. */
import type { GroupingState } from './grouping-state';
import { validateIslands } from './island-validation';
import { planProbeRequests } from './probe-plan';
import type { Move, TopologyResult, Unassigned, UnassignedReason } from './types';

export function assembleResult(state: GroupingState): TopologyResult {
  nameNewIslands(state);
  const validated = validateIslands(state);
  const unassigned = unassignedNodes(state);
  const moved = movedNodes(state);
  const probeRequests = planProbeRequests(state, validated.violationProbes, unassigned, validated.inferredProbes);
  const { graph, nodeCount } = state;
  return {
    islands: validated.islands,
    unassigned,
    moved,
    probeRequests,
    violations: state.violations,
    stats: {
      nodes: nodeCount,
      samples: state.sampleCount,
      freshPairs: graph.freshPairs,
      stalePairsIgnored: graph.stalePairsIgnored,
      lossyPairs: graph.lossyPairs,
      islands: validated.islands.length,
      assigned: nodeCount - unassigned.length,
      unassigned: unassigned.length,
      moved: moved.length,
      measuredPairsInIslands: validated.measuredPairs,
      inferredPairsInIslands: validated.inferredPairs,
      probeCandidates: validated.probeCandidates,
      repairedInValidation: validated.repaired.length,
    },
  };
}

function nameNewIslands(state: GroupingState): void {
  const ids = state.graph.ids;
  // Ids: kept islands keep theirs; new ones are "<tier>-<anchor id>" (suffixed if taken).
  const used = new Set(state.islands.filter((x) => x.alive && x.kept).map((x) => x.id));
  const fresh = state.islands.filter((x) => x.alive && !x.kept).sort((x, y) => x.anchor - y.anchor);
  for (const isl of fresh) {
    const base = `${state.tiers[isl.tier].name}-${ids[isl.anchor]}`;
    let id = base;
    for (let s = 2; used.has(id); s++) id = `${base}~${s}`;
    used.add(id);
    isl.id = id;
  }
}

function unassignedNodes(state: GroupingState): Unassigned[] {
  const { graph } = state;
  const unassigned: Unassigned[] = [];
  for (let i = 0; i < state.nodeCount; i++) {
    if (state.nodeIsland[i] >= 0) continue;
    let usable = 0;
    for (let e = graph.offsets[i]; e < graph.offsets[i + 1]; e++) if (graph.rtt[e] !== Infinity) usable++;
    const reason: UnassignedReason =
      graph.offsets[i + 1] === graph.offsets[i] ? 'unmeasured' : state.dissolvedFrom[i] >= 2 && usable > 0 ? 'island-too-small' : 'no-bounded-peers';
    unassigned.push({ node: graph.ids[i], reason });
  }
  return unassigned;
}

function movedNodes(state: GroupingState): Move[] {
  const moved: Move[] = [];
  for (let i = 0; i < state.nodeCount; i++) {
    const from = state.previousIsland[i];
    if (from === undefined) continue;
    const k = state.nodeIsland[i];
    const to = k >= 0 ? state.islands[k].id : null;
    if (to !== from) moved.push({ node: state.graph.ids[i], from, to });
  }
  return moved;
}
