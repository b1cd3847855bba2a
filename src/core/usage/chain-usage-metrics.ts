import type { UsageMetrics } from './usage-metrics';

/**
 * The chain's `virtengine.hpc.v1.HPCUsageMetrics` (all int64 except nodes_used), filled from a usage
 * record's metrics for MsgReportJobStatus. The chain has no room for our exact units, so:
 * memory MiB-seconds → GB-seconds rounded DOWN (1024 MiB = 1 GB, as SLURM counts), GPU-seconds
 * summed over models, node-seconds → node-hours rounded UP (any usage reports at least 1; a
 * 5-minute job is not 0 node-hours). Storage and network are not measured (0). The exact figures
 * stay in the signed record, whose hash and signature travel with the message.
 */
export interface ChainUsageMetrics {
  wallClockSeconds: bigint;
  cpuCoreSeconds: bigint;
  memoryGbSeconds: bigint;
  gpuSeconds: bigint;
  storageGbHours: bigint;
  networkBytesIn: bigint;
  networkBytesOut: bigint;
  nodeHours: bigint;
  nodesUsed: number;
}

export function toChainUsageMetrics(m: UsageMetrics): ChainUsageMetrics {
  const nodeSeconds = BigInt(m.nodeSeconds);
  return {
    wallClockSeconds: BigInt(m.wallSeconds),
    cpuCoreSeconds: BigInt(m.cpuCoreSeconds),
    memoryGbSeconds: BigInt(m.memoryMbSeconds) / 1024n,
    gpuSeconds: Object.values(m.gpuSeconds).reduce((acc, s) => acc + BigInt(s), 0n),
    storageGbHours: 0n,
    networkBytesIn: 0n,
    networkBytesOut: 0n,
    nodeHours: (nodeSeconds + 3599n) / 3600n,
    nodesUsed: m.nodesUsed,
  };
}
