import { Any } from 'cosmjs-types/google/protobuf/any';
import {
  ClusterState,
  MsgCreateOffering,
  MsgCreateOfferingResponse,
  MsgRegisterCluster,
  MsgRegisterClusterResponse,
  MsgUpdateCluster,
  MsgUpdateClusterResponse,
  MsgUpdateNodeMetadata,
  MsgUpdateNodeMetadataResponse,
  NodeResources,
  NodeState,
} from '../../../src/adapters/chain/generated/virtengine';
import type { MessageCodec } from '../../../src/adapters/chain/proto-codec';
import { HpcRefusal, MsgHandler } from './ledger';
import { validateBasic } from './validate-basic';

/** x/hpc error codes (types/errors.go) the provider messages can fail with. */
export const HPC_CODE = {
  CLUSTER_NOT_FOUND: 2101,
  INVALID_OFFERING: 2103,
  INVALID_NODE_METADATA: 2109,
  UNAUTHORIZED: 2118,
  STALE_HEARTBEAT: 2127,
} as const;

export interface FakeCluster {
  clusterId: string;
  providerAddress: string;
  name: string;
  region: string;
  state: ClusterState;
  totalNodes: number;
  partitions: string[];
  /** What x/hpc's BeginBlock (UpdateClusterCapacity) last wrote from the ACTIVE nodes; absent until a block saw the cluster. */
  capacity?: ClusterCapacity;
}

export interface ClusterCapacity {
  availableNodes: number;
  cpuCores: number;
  memoryGb: number;
  gpus: number;
  storageGb: number;
}

export interface FakeOffering {
  offeringId: string;
  clusterId: string;
  providerAddress: string;
  queues: string[];
  active: boolean;
  maxRuntimeSeconds: bigint;
}

export interface FakeNode {
  nodeId: string;
  clusterId: string;
  state: NodeState;
  region: string;
  lastSequenceNumber: bigint;
  /** Block time of the last MsgUpdateNodeMetadata (the chain's last_heartbeat). */
  lastHeartbeat: Date;
  updates: number;
  latencyMs: bigint[];
  /** The resources of its last MsgUpdateNodeMetadata (what cluster capacity is summed from). */
  resources?: NodeResources;
}

export interface HpcProviderState {
  clusters: Map<string, FakeCluster>;
  offerings: Map<string, FakeOffering>;
  nodes: Map<string, FakeNode>;
  counters: { cluster: number; offering: number; job: number };
}

/** x/hpc/types/node_agent.go NodeState strings, as keeper.UpdateNodeMetadata's refusal prints them. */
const NODE_STATE_NAMES: Record<number, string> = {
  [NodeState.NODE_STATE_PENDING]: 'pending',
  [NodeState.NODE_STATE_ACTIVE]: 'active',
  [NodeState.NODE_STATE_STALE]: 'stale',
  [NodeState.NODE_STATE_DRAINING]: 'draining',
  [NodeState.NODE_STATE_DRAINED]: 'drained',
  [NodeState.NODE_STATE_OFFLINE]: 'offline',
  [NodeState.NODE_STATE_DEREGISTERED]: 'deregistered',
};

/** x/hpc ValidNodeStateTransitions (types/node_agent.go), for a node that changes state. */
const NODE_TRANSITIONS: Record<number, NodeState[]> = {
  [NodeState.NODE_STATE_PENDING]: [NodeState.NODE_STATE_ACTIVE, NodeState.NODE_STATE_OFFLINE, NodeState.NODE_STATE_DEREGISTERED],
  [NodeState.NODE_STATE_ACTIVE]: [NodeState.NODE_STATE_STALE, NodeState.NODE_STATE_DRAINING, NodeState.NODE_STATE_OFFLINE, NodeState.NODE_STATE_DEREGISTERED],
  [NodeState.NODE_STATE_STALE]: [NodeState.NODE_STATE_ACTIVE, NodeState.NODE_STATE_OFFLINE, NodeState.NODE_STATE_DEREGISTERED],
  [NodeState.NODE_STATE_DRAINING]: [NodeState.NODE_STATE_DRAINED, NodeState.NODE_STATE_OFFLINE, NodeState.NODE_STATE_DEREGISTERED],
  [NodeState.NODE_STATE_DRAINED]: [NodeState.NODE_STATE_ACTIVE, NodeState.NODE_STATE_OFFLINE, NodeState.NODE_STATE_DEREGISTERED],
  [NodeState.NODE_STATE_OFFLINE]: [NodeState.NODE_STATE_ACTIVE, NodeState.NODE_STATE_PENDING, NodeState.NODE_STATE_DEREGISTERED],
};

/**
 * keeper.UpdateClusterCapacity, which CheckClusterHealth runs for every cluster not DEREGISTERED at
 * the start of every block (x/hpc/keeper/node_health.go, keeper.go): available nodes and the
 * cluster's totals become the count and sums of its ACTIVE nodes' resources, whatever
 * MsgRegisterCluster / MsgUpdateCluster said.
 */
export function updateClusterCapacity(state: HpcProviderState): void {
  for (const cluster of state.clusters.values()) {
    if (cluster.state === ClusterState.CLUSTER_STATE_DEREGISTERED) continue;
    const capacity: ClusterCapacity = { availableNodes: 0, cpuCores: 0, memoryGb: 0, gpus: 0, storageGb: 0 };
    for (const node of state.nodes.values()) {
      if (node.clusterId !== cluster.clusterId || node.state !== NodeState.NODE_STATE_ACTIVE) continue;
      capacity.availableNodes += 1;
      capacity.cpuCores += Math.max(0, node.resources?.cpuCores ?? 0);
      capacity.memoryGb += Math.max(0, node.resources?.memoryGb ?? 0);
      capacity.gpus += Math.max(0, node.resources?.gpus ?? 0);
      capacity.storageGb += Math.max(0, node.resources?.storageGb ?? 0);
    }
    state.clusters.set(cluster.clusterId, { ...cluster, capacity });
  }
}

const response = <T>(codec: MessageCodec<T>, value: Partial<T>) =>
  Any.fromPartial({ typeUrl: codec.typeUrl, value: codec.encode(codec.fromPartial(value as never)).finish() });

/**
 * The provider side of x/hpc as the keeper behaves (msg_server.go, keeper/*.go at 4954b9cc):
 * RegisterCluster answers HPC-<n> but stores PENDING whatever the message says; UpdateCluster,
 * CreateOffering and UpdateNodeMetadata refuse an unknown cluster and a cluster of another
 * provider; node metadata needs a region, a strictly increasing sequence (when > 0) and a legal
 * state change; offerings need a queue option, a threshold 0-100 and max runtime ≥ 60 s.
 */
export function hpcProviderHandlers(state: HpcProviderState, blockTime: () => Date): Array<[string, MsgHandler]> {
  const owned = (clusterId: string, provider: string) => {
    const cluster = state.clusters.get(clusterId);
    if (!cluster) throw new HpcRefusal(HPC_CODE.CLUSTER_NOT_FOUND, `cluster ${clusterId} not found: cluster not found`);
    if (cluster.providerAddress !== provider) throw new HpcRefusal(HPC_CODE.UNAUTHORIZED, 'not the cluster owner: unauthorized');
    return cluster;
  };
  const handler = <T extends { providerAddress: string }>(
    codec: MessageCodec<T>,
    basic: ((msg: T) => void) | undefined,
    check: (msg: T) => void,
    apply: (msg: T) => Any,
  ): [string, MsgHandler] => [
    codec.typeUrl,
    {
      decode: (value) => codec.decode(value),
      validateBasic: basic && ((msg) => basic(msg as T)),
      signer: (msg) => (msg as T).providerAddress,
      check: (msg) => check(msg as T),
      apply: (msg) => apply(msg as T),
    },
  ];
  return [
    handler(
      MsgRegisterCluster,
      validateBasic.registerCluster,
      () => undefined,
      (msg) => {
        const clusterId = `HPC-${++state.counters.cluster}`;
        state.clusters.set(clusterId, {
          clusterId,
          providerAddress: msg.providerAddress,
          name: msg.name,
          region: msg.region,
          state: ClusterState.CLUSTER_STATE_PENDING,
          totalNodes: msg.totalNodes,
          partitions: msg.partitions.map((p) => p.name),
        });
        return response(MsgRegisterClusterResponse, { clusterId });
      },
    ),
    handler(
      MsgUpdateCluster,
      undefined,
      (msg) => void owned(msg.clusterId, msg.providerAddress),
      (msg) => {
        const cluster = state.clusters.get(msg.clusterId)!;
        state.clusters.set(msg.clusterId, {
          ...cluster,
          state: msg.state || cluster.state,
          totalNodes: msg.totalNodes > 0 ? msg.totalNodes : cluster.totalNodes,
          partitions: msg.partitions.length > 0 ? msg.partitions.map((p) => p.name) : cluster.partitions,
        });
        return response(MsgUpdateClusterResponse, {});
      },
    ),
    handler(
      MsgCreateOffering,
      validateBasic.createOffering,
      (msg) => {
        owned(msg.clusterId, msg.providerAddress);
        if (msg.queueOptions.length === 0) throw new HpcRefusal(HPC_CODE.INVALID_OFFERING, 'at least one queue option is required: invalid HPC offering');
        if (msg.requiredIdentityThreshold < 0 || msg.requiredIdentityThreshold > 100)
          throw new HpcRefusal(HPC_CODE.INVALID_OFFERING, 'required_identity_threshold must be 0-100: invalid HPC offering');
        if (msg.maxRuntimeSeconds < 60n) throw new HpcRefusal(HPC_CODE.INVALID_OFFERING, 'max_runtime_seconds must be at least 60: invalid HPC offering');
      },
      (msg) => {
        const offeringId = `OFF-${++state.counters.offering}`;
        state.offerings.set(offeringId, {
          offeringId,
          clusterId: msg.clusterId,
          providerAddress: msg.providerAddress,
          queues: msg.queueOptions.map((q) => q.partitionName),
          active: true,
          maxRuntimeSeconds: msg.maxRuntimeSeconds,
        });
        return response(MsgCreateOfferingResponse, { offeringId });
      },
    ),
    handler(
      MsgUpdateNodeMetadata,
      validateBasic.updateNodeMetadata,
      (msg) => {
        owned(msg.clusterId, msg.providerAddress);
        if (!msg.region) throw new HpcRefusal(HPC_CODE.INVALID_NODE_METADATA, 'region cannot be empty: invalid node metadata');
        const existing = state.nodes.get(msg.nodeId);
        const next = msg.state || (msg.active ? NodeState.NODE_STATE_ACTIVE : NodeState.NODE_STATE_PENDING);
        if (existing && existing.state !== next && !(NODE_TRANSITIONS[existing.state] ?? []).includes(next)) {
          throw new HpcRefusal(
            HPC_CODE.INVALID_NODE_METADATA,
            `invalid state transition from ${NODE_STATE_NAMES[existing.state]} to ${NODE_STATE_NAMES[next]}: invalid node metadata`,
          );
        }
        if (existing && msg.lastSequenceNumber > 0n && msg.lastSequenceNumber <= existing.lastSequenceNumber) {
          throw new HpcRefusal(
            HPC_CODE.STALE_HEARTBEAT,
            `sequence ${msg.lastSequenceNumber} not greater than ${existing.lastSequenceNumber}: stale heartbeat sequence`,
          );
        }
      },
      (msg) => {
        const existing = state.nodes.get(msg.nodeId);
        state.nodes.set(msg.nodeId, {
          nodeId: msg.nodeId,
          clusterId: msg.clusterId,
          region: msg.region,
          state: msg.state || (msg.active ? NodeState.NODE_STATE_ACTIVE : NodeState.NODE_STATE_PENDING),
          lastSequenceNumber: msg.lastSequenceNumber,
          lastHeartbeat: blockTime(),
          updates: (existing?.updates ?? 0) + 1,
          latencyMs: msg.latencyMeasurements.map((m) => m.latencyMs),
          resources: msg.resources,
        });
        return response(MsgUpdateNodeMetadataResponse, {});
      },
    ),
  ];
}
