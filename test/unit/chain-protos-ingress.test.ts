import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '@cosmjs/encoding';
import { chainRegistry } from '../../src/adapters/chain/chain-registry';
import { JobState, MsgCancelJob, MsgSubmitJob, MsgSubmitJobResponse, QueryJobsRequest, QueryJobsResponse } from '../../src/adapters/chain/generated/virtengine';

const ascii = (text: string) => toHex(new TextEncoder().encode(text));

/**
 * Golden vectors for chain ingress (Query/Jobs with pagination, the customer's MsgSubmitJob),
 * written by hand from the wire format and the chain's field numbers (hpc/v1 query.proto,
 * tx.proto, types.proto at 4954b9cc; cosmos PageRequest/PageResponse), so the codec cannot agree
 * with itself.
 */
describe('VirtEngine chain-ingress messages: golden vectors', () => {
  it('QueryJobsRequest: state (1), cluster id (2), PageRequest (3) with key (1) and limit (3)', () => {
    const golden = '0801' + '1205' + ascii('HPC-1') + '1a0a' + '0a05' + ascii('JOB-2') + '18c801';
    const request = QueryJobsRequest.fromPartial({
      state: JobState.JOB_STATE_PENDING,
      clusterId: 'HPC-1',
      pagination: { key: new TextEncoder().encode('JOB-2'), limit: 200n },
    });
    assert.equal(toHex(QueryJobsRequest.encode(request).finish()), golden);
  });

  it('QueryJobsResponse: a job with customer, state, workload (map entry), resources, and next_key', () => {
    const workload = '1204' + ascii('true') + '2206' + '0a0141' + '120162';
    const job = '0a05' + ascii('JOB-1') + '2a04' + ascii('ve1c') + '3801' + '4a0e' + workload + '5204' + '0801' + '1002';
    const golden = '0a25' + job + '1207' + '0a05' + ascii('JOB-2');
    const decoded = QueryJobsResponse.decode(fromHex(golden));
    assert.equal(decoded.jobs.length, 1);
    const [j] = decoded.jobs;
    assert.equal(j.jobId, 'JOB-1');
    assert.equal(j.customerAddress, 've1c');
    assert.equal(j.state, JobState.JOB_STATE_PENDING);
    assert.equal(j.workloadSpec?.command, 'true');
    assert.deepEqual(j.workloadSpec?.environment, [{ key: 'A', value: 'b' }]);
    assert.equal(j.resources?.nodes, 1);
    assert.equal(j.resources?.cpuCoresPerNode, 2);
    assert.equal(new TextDecoder().decode(decoded.pagination!.nextKey), 'JOB-2');
    assert.equal(toHex(QueryJobsResponse.encode(decoded).finish()), golden);
  });

  it('MsgCancelJob (tx.proto): requester (1), job id (2), reason (3)', () => {
    const golden = '0a04' + ascii('ve1c') + '1205' + ascii('JOB-7') + '1a04' + ascii('oops');
    const message = MsgCancelJob.fromPartial({ requesterAddress: 've1c', jobId: 'JOB-7', reason: 'oops' });
    assert.equal(toHex(MsgCancelJob.encode(message).finish()), golden);
    assert.equal(MsgCancelJob.typeUrl, '/virtengine.hpc.v1.MsgCancelJob');
  });

  it('MsgSubmitJob: workload (4), resources (5), max runtime (9), max price coins (10)', () => {
    const golden =
      '0a04' +
      ascii('ve1c') +
      '1205' +
      ascii('OFF-1') +
      '1a05' +
      ascii('debug') +
      '220f' +
      '0a03' +
      ascii('img') +
      '1208' +
      ascii('hostname') +
      '2a02' +
      '0801' +
      '48901c' +
      '520a' +
      '0a03' +
      ascii('uve') +
      '1203' +
      ascii('100');
    const message = MsgSubmitJob.fromPartial({
      customerAddress: 've1c',
      offeringId: 'OFF-1',
      queueName: 'debug',
      workloadSpec: { containerImage: 'img', command: 'hostname' },
      resources: { nodes: 1 },
      maxRuntimeSeconds: 3600n,
      maxPrice: [{ denom: 'uve', amount: '100' }],
    });
    assert.equal(toHex(MsgSubmitJob.encode(message).finish()), golden);
    assert.equal(MsgSubmitJobResponse.decode(fromHex('0a05' + ascii('JOB-9'))).jobId, 'JOB-9');
  });

  it('MsgSubmitJob is in the registry under its type URL', () => {
    assert.equal(MsgSubmitJob.typeUrl, '/virtengine.hpc.v1.MsgSubmitJob');
    assert.ok(chainRegistry().lookupType('/virtengine.hpc.v1.MsgSubmitJob'));
  });
});
