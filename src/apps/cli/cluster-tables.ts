/** Human tables for islands (sinfo-like) and provider nodes. Pure. */

import { Column, table } from './format';

export interface IslandView {
  name: string;
  adapter: string;
  reachable: boolean;
  partitions: string[];
  capacity: {
    nodes: number;
    usableNodes: number;
    cpus: number;
    cpusFree: number;
    memoryMb: number;
    memoryFreeMb: number;
    gpus: Array<{ model: string | null; total: number; free: number }>;
  };
  queue: { pendingJobs: number };
}

/** One SLURM node of an island, as `GET /v1/islands/{name}` lists it. */
export interface IslandNodeView {
  name: string;
  state: string;
  cpus: number;
  cpusFree: number;
  memoryMb: number;
  memoryFreeMb: number;
  gpus: Array<{ model: string; total: number; free: number }>;
  features: string[];
}

export interface NodeView {
  id: string;
  name: string;
  state: string;
  island: string | null;
  inventory: { cpus?: number; memoryMb?: number; gpus?: Array<{ model: string; count: number }> } | null;
  lastHeartbeatAt: string | null;
}

const gib = (mb: number) => `${(mb / 1024).toFixed(mb >= 10240 ? 0 : 1)}G`;

export function islandsTable(islands: readonly IslandView[]): string {
  const columns: Column<IslandView>[] = [
    { header: 'ISLAND', value: (i) => i.name },
    { header: 'ADAPTER', value: (i) => i.adapter },
    { header: 'AVAIL', value: (i) => (i.reachable ? 'up' : 'down') },
    { header: 'PARTITIONS', value: (i) => i.partitions.join(',') },
    { header: 'NODES(U/T)', value: (i) => `${i.capacity.usableNodes}/${i.capacity.nodes}`, align: 'right' },
    { header: 'CPUS(F/T)', value: (i) => `${i.capacity.cpusFree}/${i.capacity.cpus}`, align: 'right' },
    { header: 'MEMORY(F/T)', value: (i) => `${gib(i.capacity.memoryFreeMb)}/${gib(i.capacity.memoryMb)}`, align: 'right' },
    {
      header: 'GPUS(F/T)',
      value: (i) => i.capacity.gpus.map((g) => `${g.model ?? 'gpu'}:${g.free}/${g.total}`).join(',') || '-',
    },
    { header: 'PENDING', value: (i) => String(i.queue.pendingJobs), align: 'right' },
  ];
  return table(islands, columns);
}

export function nodesTable(nodes: readonly NodeView[], now: Date): string {
  const columns: Column<NodeView>[] = [
    { header: 'NODE', value: (n) => n.name },
    { header: 'STATE', value: (n) => n.state },
    { header: 'ISLAND', value: (n) => n.island ?? '-' },
    { header: 'CPUS', value: (n) => String(n.inventory?.cpus ?? ''), align: 'right' },
    { header: 'MEMORY', value: (n) => (n.inventory?.memoryMb === undefined ? '' : gib(n.inventory.memoryMb)), align: 'right' },
    { header: 'GPUS', value: (n) => n.inventory?.gpus?.map((g) => `${g.count}x${g.model}`).join(',') || '-' },
    {
      header: 'HEARTBEAT',
      value: (n) => (n.lastHeartbeatAt ? `${Math.max(0, Math.round((now.getTime() - Date.parse(n.lastHeartbeatAt)) / 1000))}s ago` : 'never'),
      align: 'right',
    },
    { header: 'ID', value: (n) => n.id },
  ];
  return table(nodes, columns);
}

/** `sinfo -N`: one line per node of every island, with SLURM's CPUS(A/I/T) (allocated/idle/total). */
export function islandNodesTable(rows: ReadonlyArray<{ island: string; node: IslandNodeView }>): string {
  const columns: Column<{ island: string; node: IslandNodeView }>[] = [
    { header: 'NODELIST', value: (r) => r.node.name },
    { header: 'ISLAND', value: (r) => r.island },
    { header: 'STATE', value: (r) => r.node.state },
    { header: 'CPUS(A/I/T)', value: (r) => `${r.node.cpus - r.node.cpusFree}/${r.node.cpusFree}/${r.node.cpus}`, align: 'right' },
    { header: 'MEMORY(F/T)', value: (r) => `${gib(r.node.memoryFreeMb)}/${gib(r.node.memoryMb)}`, align: 'right' },
    { header: 'GPUS(F/T)', value: (r) => r.node.gpus.map((g) => `${g.model || 'gpu'}:${g.free}/${g.total}`).join(',') || '-' },
    { header: 'FEATURES', value: (r) => r.node.features.join(',') || '(null)' },
  ];
  return table(rows, columns);
}
