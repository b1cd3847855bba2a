import type { IslandSettings } from '../config/islands-file';
import { IslandCapacity, NodeCapacity, nodeIsUsable } from '../scheduling/capacity';

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
