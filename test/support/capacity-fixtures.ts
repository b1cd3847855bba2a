/** Capacity snapshots for placement tests: idle 16-CPU nodes and one-tier islands unless told otherwise. */
import type { CapacitySnapshot, IslandCapacity, NodeCapacity } from '../../src/core/placement/capacity';

export function node(name: string, extra: Partial<NodeCapacity> = {}): NodeCapacity {
  const cpus = extra.cpus ?? 16;
  const memoryMb = extra.memoryMb ?? 64000;
  return { name, cpus, cpusFree: cpus, memoryMb, memoryFreeMb: memoryMb, gpus: [], features: [], state: 'idle', ...extra };
}

/** A tight-tier island in eu-west with a default `batch` partition (2 days) and a `debug` one (30 min, 2 nodes). */
export function island(name: string, nodes: NodeCapacity[], extra: Partial<IslandCapacity> = {}): IslandCapacity {
  return {
    name,
    tier: 'tight',
    boundMs: 2,
    regions: ['eu-west'],
    providers: ['acme'],
    performanceClass: 'standard',
    pricePerCoreHour: 0.05,
    benchmarkScore: 1000,
    partitions: [
      { name: 'batch', maxTimeMinutes: 2880, maxNodes: null, isDefault: true },
      { name: 'debug', maxTimeMinutes: 30, maxNodes: 2 },
    ],
    nodes,
    queue: { pendingJobs: 0, pendingCpuSeconds: 0 },
    ...extra,
  };
}

/** `n` nodes named `<prefix>-n0`, `<prefix>-n1`... */
export const nodes = (prefix: string, n: number, extra: Partial<NodeCapacity> = {}) => Array.from({ length: n }, (_, i) => node(`${prefix}-n${i}`, extra));

export const snap = (...islands: IslandCapacity[]): CapacitySnapshot => ({ takenAtMs: 0, islands });
