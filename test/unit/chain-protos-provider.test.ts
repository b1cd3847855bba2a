import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '@cosmjs/encoding';
import { chainRegistry } from '../../src/adapters/chain/chain-registry';
import {
  ClusterState,
  HealthStatus,
  MsgCreateOffering,
  MsgCreateOfferingResponse,
  MsgRegisterCluster,
  MsgRegisterClusterResponse,
  MsgUpdateCluster,
  MsgUpdateNodeMetadata,
  NodeState,
} from '../../src/adapters/chain/generated/virtengine';

const ascii = (text: string) => toHex(new TextEncoder().encode(text));

/**
 * Golden vectors for the provider-daemon messages, written by hand from the wire format (tag =
 * field << 3 | wire type) and the chain's field numbers (hpc/v1 tx.proto and types.proto at
 * 4954b9cc), so the codec cannot agree with itself.
 */
describe('VirtEngine provider-daemon messages: golden vectors', () => {
  it('MsgRegisterCluster: partitions (nested, repeated), int32, nested metadata', () => {
    // partition {name "p" | nodes 2 | max_runtime 3600 = 90 1c}
    const partition = '0a0170' + '1002' + '18901c';
    const golden = '0a05' + ascii('ve1qy') + '1201' + ascii('a') + '2202' + ascii('eu') + '2a08' + partition + '3002' + '3a020808' + '4205' + ascii('22.05');
    const message = MsgRegisterCluster.fromPartial({
      providerAddress: 've1qy',
      name: 'a',
      region: 'eu',
      partitions: [{ name: 'p', nodes: 2, maxRuntime: 3600n }],
      totalNodes: 2,
      clusterMetadata: { totalCpuCores: 8n },
      slurmVersion: '22.05',
    });
    assert.equal(toHex(MsgRegisterCluster.encode(message).finish()), golden);
    assert.deepEqual(MsgRegisterCluster.decode(fromHex(golden)).partitions[0].maxRuntime, 3600n);
  });

  it('MsgRegisterClusterResponse carries the cluster id', () => {
    assert.equal(MsgRegisterClusterResponse.decode(fromHex('0a05' + ascii('HPC-7'))).clusterId, 'HPC-7');
  });

  it('MsgUpdateCluster: state ACTIVE is field 5 = 2', () => {
    const bytes = MsgUpdateCluster.encode(
      MsgUpdateCluster.fromPartial({ providerAddress: 've1qy', clusterId: 'HPC-1', state: ClusterState.CLUSTER_STATE_ACTIVE }),
    ).finish();
    assert.equal(toHex(bytes), '0a05' + ascii('ve1qy') + '1205' + ascii('HPC-1') + '2802');
  });

  it('MsgCreateOffering: queue option, pricing strings, threshold, max runtime, custom workloads (field 10)', () => {
    const golden =
      '0a05' +
      ascii('ve1qy') +
      '1205' +
      ascii('HPC-1') +
      '1a01' +
      ascii('o') +
      '2a05' +
      '0a0170' +
      '1802' +
      '320a' +
      '0a0131' +
      '3a05' +
      ascii('uvirt') +
      '3832' +
      '4080a305' +
      '5001';
    const message = MsgCreateOffering.fromPartial({
      providerAddress: 've1qy',
      clusterId: 'HPC-1',
      name: 'o',
      queueOptions: [{ partitionName: 'p', maxNodes: 2 }],
      pricing: { baseNodeHourPrice: '1', currency: 'uvirt' },
      requiredIdentityThreshold: 50,
      maxRuntimeSeconds: 86400n,
      supportsCustomWorkloads: true,
    });
    assert.equal(toHex(MsgCreateOffering.encode(message).finish()), golden);
    assert.equal(MsgCreateOfferingResponse.decode(fromHex('0a05' + ascii('OFF-3'))).offeringId, 'OFF-3');
  });

  it('MsgUpdateNodeMetadata: latency measurement with a Timestamp, resources, state, health, uint64 sequence (field 15)', () => {
    const measurement = '0a02' + ascii('n2') + '1003' + '1a06' + '0880e2cfaa06';
    const golden =
      '0a05' +
      ascii('ve1qy') +
      '1202' +
      ascii('n1') +
      '1a05' +
      ascii('HPC-1') +
      '2202' +
      ascii('eu') +
      '320e' +
      measurement +
      '4204' +
      '0804' +
      '1010' +
      '4801' +
      '5003' +
      '5801' +
      '7805';
    const message = MsgUpdateNodeMetadata.fromPartial({
      providerAddress: 've1qy',
      nodeId: 'n1',
      clusterId: 'HPC-1',
      region: 'eu',
      latencyMeasurements: [{ targetNodeId: 'n2', latencyMs: 3n, measuredAt: { seconds: 1_700_000_000n } }],
      resources: { cpuCores: 4, memoryGb: 16 },
      active: true,
      state: NodeState.NODE_STATE_ACTIVE,
      healthStatus: HealthStatus.HEALTH_STATUS_HEALTHY,
      lastSequenceNumber: 5n,
    });
    assert.equal(toHex(MsgUpdateNodeMetadata.encode(message).finish()), golden);
    const decoded = MsgUpdateNodeMetadata.decode(fromHex(golden));
    assert.equal(decoded.latencyMeasurements[0].measuredAt?.seconds, 1_700_000_000n);
    assert.equal(decoded.lastSequenceNumber, 5n);
  });

  it('the registry signs every provider-daemon message type', () => {
    const registry = chainRegistry();
    for (const type of [MsgRegisterCluster, MsgUpdateCluster, MsgCreateOffering, MsgUpdateNodeMetadata]) {
      assert.ok(registry.lookupType(type.typeUrl), type.typeUrl);
    }
  });
});
