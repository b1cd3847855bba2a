import type { IslandSettings } from '../../adapters/config/islands-file';
import { IslandCapacity, NodeCapacity, nodeIsUsable } from '../../core/placement/capacity';
import type { IslandRow } from './islands.repository';

function gpuTotals(nodes: NodeCapacity[]) {
  const byModel = new Map<string, { total: number; free: number }>();
  for (const pool of nodes.flatMap((n) => n.gpus)) {
    const sum = byModel.get(pool.model) ?? { total: 0, free: 0 };
    sum.total += pool.total;
    sum.free += pool.free;
    byModel.set(pool.model, sum);
  }
  return [...byModel].map(([model, sum]) => ({ model: model || null, ...sum }));
}

/** How a topology island was formed: its latency tier and bound, the proven diameter and its members. */
export function formationView(row: IslandRow, members: string[]) {
  return {
    state: row.state,
    tier: row.tier,
    boundMs: row.bound_ms,
    /** Upper bound on every member pair's RTT (measured, or inferred through measured paths). */
    diameterMs: row.diameter_ms,
    /** Largest RTT actually measured between two members. */
    measuredDiameterMs: row.measured_diameter_ms,
    measuredPairs: row.measured_pairs,
    inferredPairs: row.inferred_pairs,
    withinBound: row.within_bound,
    members,
    launcher: row.launcher,
    createdAt: row.created_at.toISOString(),
    stateChangedAt: row.state_changed_at.toISOString(),
    lastError: row.last_error,
  };
}

/** What `sinfo` would tell a researcher about an island, plus our queue depth. */
export function islandView(settings: IslandSettings, capacity: IslandCapacity | undefined, reachable: boolean, withNodes: boolean) {
  const nodes = capacity?.nodes ?? [];
  const usable = nodes.filter((n) => nodeIsUsable(n.state));
  const sum = (pick: (n: NodeCapacity) => number) => usable.reduce((total, n) => total + pick(n), 0);
  return {
    name: settings.connection.name,
    adapter: settings.connection.adapter,
    reachable,
    partitions: settings.partitions,
    defaultPartition: settings.defaultPartition,
    capacity: {
      nodes: nodes.length,
      usableNodes: usable.length,
      cpus: sum((n) => n.cpus),
      cpusFree: sum((n) => n.cpusFree),
      memoryMb: sum((n) => n.memoryMb),
      memoryFreeMb: sum((n) => n.memoryFreeMb),
      gpus: gpuTotals(usable),
    },
    queue: { pendingJobs: capacity?.queue.pendingJobs ?? 0 },
    ...(withNodes ? { nodes } : {}),
  };
}
