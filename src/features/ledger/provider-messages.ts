import type { EncodeObject } from '@cosmjs/proto-signing';
import {
  ClusterState,
  HealthStatus,
  MsgCreateOffering,
  MsgRegisterCluster,
  MsgUpdateCluster,
  MsgUpdateNodeMetadata,
  NodeState,
} from '../../adapters/chain/generated/virtengine';
import type { LocalityTags, NodeInventory } from '../../core/nodes/agent-protocol';
import type { OfferingPrices } from '../../core/usage/pricing';

/** What the provider daemon knows of a node (from `nodes` and `latency_samples`). */
export interface NodeFacts {
  id: string;
  name: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  /** RTT medians to the other members of its island that answered. */
  latencies: Array<{ to: string; rttMs: number; measuredAt: Date }>;
}

export interface IslandFacts {
  name: string;
  partitions: string[];
  nodes: NodeFacts[];
}

const MIB_PER_GB = 1024;

/**
 * The id a node reports under: its name, or `<name>-r<generation>` once the chain deregistered
 * the earlier id (x/hpc node ids are 4-64 characters; a long name is cut to fit the suffix).
 */
export function chainNodeId(name: string, generation: number | undefined): string {
  if (!generation || generation < 2) return name;
  const suffix = `-r${generation}`;
  return `${name.slice(0, 64 - suffix.length)}${suffix}`;
}

const gpuCount = (node: NodeFacts) => node.inventory.gpus.reduce((n, g) => n + g.count, 0);

/** The region most of an island's nodes name (ties: alphabetical); the chain requires one. */
export function regionOf(nodes: NodeFacts[], fallback: string): string {
  const counts = new Map<string, number>();
  for (const node of nodes) if (node.tags.region) counts.set(node.tags.region, (counts.get(node.tags.region) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? fallback;
}

/** MsgRegisterCluster for an island (one SLURM cluster): its partitions, size and totals. */
export function registerCluster(provider: string, island: IslandFacts, defaultRegion: string): EncodeObject {
  const gpuTypes = [...new Set(island.nodes.flatMap((n) => n.inventory.gpus.map((g) => g.model)))].sort();
  return {
    typeUrl: MsgRegisterCluster.typeUrl,
    value: MsgRegisterCluster.fromPartial({
      providerAddress: provider,
      name: `archipelago/${island.name}`,
      description: `Archipelago latency-bounded SLURM island ${island.name}`,
      region: regionOf(island.nodes, defaultRegion),
      partitions: island.partitions.map((name) => ({ name, nodes: island.nodes.length, maxNodes: island.nodes.length, state: 'up' })),
      totalNodes: island.nodes.length,
      clusterMetadata: {
        totalCpuCores: BigInt(island.nodes.reduce((n, node) => n + node.inventory.cpus, 0)),
        totalMemoryGb: BigInt(Math.floor(island.nodes.reduce((n, node) => n + node.inventory.memoryMb, 0) / MIB_PER_GB)),
        totalGpus: BigInt(island.nodes.reduce((n, node) => n + gpuCount(node), 0)),
        gpuTypes,
        interconnectType: 'ethernet',
      },
      slurmVersion: '22.05',
    }),
  };
}

/** The keeper stores a new cluster as PENDING whatever the message said: nothing works until ACTIVE. */
export function activateCluster(provider: string, clusterId: string): EncodeObject {
  return {
    typeUrl: MsgUpdateCluster.typeUrl,
    value: MsgUpdateCluster.fromPartial({ providerAddress: provider, clusterId, state: ClusterState.CLUSTER_STATE_ACTIVE }),
  };
}

/** One offering per island and partition, priced like our bills (src/core/usage/pricing.ts) in the billing denom. */
export function createOffering(
  provider: string,
  clusterId: string,
  island: IslandFacts,
  partition: string,
  prices: OfferingPrices,
  denom: string,
  terms: { identityThreshold: number; maxRuntimeSeconds: number },
): EncodeObject {
  return {
    typeUrl: MsgCreateOffering.typeUrl,
    value: MsgCreateOffering.fromPartial({
      providerAddress: provider,
      clusterId,
      name: `${island.name}/${partition}`,
      description: `Partition ${partition} of Archipelago island ${island.name}`,
      queueOptions: [
        { partitionName: partition, displayName: partition, maxNodes: island.nodes.length, maxRuntime: BigInt(terms.maxRuntimeSeconds), priceMultiplier: '1' },
      ],
      pricing: {
        baseNodeHourPrice: prices.nodeHour,
        cpuCoreHourPrice: prices.cpuCoreHour,
        gpuHourPrice: prices.gpuHour.default,
        memoryGbHourPrice: prices.memoryGbHour,
        currency: denom,
        minimumCharge: prices.minimumCharge,
      },
      requiredIdentityThreshold: terms.identityThreshold,
      maxRuntimeSeconds: BigInt(terms.maxRuntimeSeconds),
      supportsCustomWorkloads: true,
    }),
  };
}

/**
 * A node's liveness: ACTIVE, its region, resources, and our measured RTTs to its island peers (in
 * whole ms, rounded up so a measured link never reads as 0). The keeper does not average them
 * itself; these are the measurements an average is taken over. `sequence` must grow strictly
 * (the keeper refuses a replay), so it is the time the round was planned, in ms.
 */
export function nodeLiveness(provider: string, clusterId: string, node: NodeFacts, sequence: bigint, defaultRegion: string): EncodeObject {
  const [gpu] = node.inventory.gpus;
  return {
    typeUrl: MsgUpdateNodeMetadata.typeUrl,
    value: MsgUpdateNodeMetadata.fromPartial({
      providerAddress: provider,
      nodeId: node.name,
      clusterId,
      region: node.tags.region ?? defaultRegion,
      datacenter: node.tags.zone ?? '',
      latencyMeasurements: node.latencies.map((l) => ({
        targetNodeId: l.to,
        latencyMs: BigInt(Math.ceil(l.rttMs)),
        measuredAt: { seconds: BigInt(Math.floor(l.measuredAt.getTime() / 1000)) },
      })),
      resources: { cpuCores: node.inventory.cpus, memoryGb: Math.floor(node.inventory.memoryMb / MIB_PER_GB), gpus: gpuCount(node), gpuType: gpu?.model ?? '' },
      active: true,
      state: NodeState.NODE_STATE_ACTIVE,
      healthStatus: HealthStatus.HEALTH_STATUS_HEALTHY,
      lastSequenceNumber: sequence,
    }),
  };
}
