import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pairs } from 'cosmjs-types/cosmos/store/internal/kv/v1beta1/kv';
import { JobState } from '../../src/adapters/chain/generated/virtengine';
import { decodeStoredJob, decodeStoredJobs, hpcJobKey } from '../../src/adapters/chain/hpc-job-store';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A record as `json.Marshal(types.HPCJob)` writes it (x/hpc/types/job.go tags, omitempty fields absent). */
const RECORD = {
  job_id: 'hpc-job-7',
  offering_id: 'hpc-offering-2',
  cluster_id: 'hpc-cluster-1',
  provider_address: 've1provider',
  customer_address: 've1customer',
  state: 'running',
  queue_name: 'batch',
  workload_spec: { container_image: 'docker://alpine', command: 'echo', arguments: ['hi'], environment: { A: '1', B: '2' }, is_preconfigured: false },
  resources: { nodes: 2, cpu_cores_per_node: 4, memory_gb_per_node: 8, storage_gb: 0 },
  max_runtime_seconds: 3600,
  agreed_price: [{ denom: 'uvirt', amount: '1500' }],
  created_at: '2026-12-07T00:00:01.5Z',
  queued_at: '2026-12-07T00:00:06Z',
  started_at: '2026-12-07T00:00:12Z',
  block_height: 41,
};

describe("x/hpc's stored jobs (read through ABCI store queries: Query/Job and Query/Jobs are not implemented)", () => {
  it('keys a job by 0x03 and the job id bytes', () => {
    assert.deepEqual(hpcJobKey('hpc-job-7'), Uint8Array.from([0x03, ...Buffer.from('hpc-job-7')]));
  });

  it("decodes the keeper's JSON record into our HPCJob, with the transition times; empty is no job", () => {
    const stored = decodeStoredJob(json(RECORD))!;
    assert.equal(stored.job.state, JobState.JOB_STATE_RUNNING);
    assert.equal(stored.job.slurmJobId, '');
    assert.equal(stored.job.exitCode, 0);
    assert.equal(stored.job.maxRuntimeSeconds, 3600n);
    assert.deepEqual(stored.job.workloadSpec?.environment, [
      { key: 'A', value: '1' },
      { key: 'B', value: '2' },
    ]);
    assert.deepEqual(stored.job.resources, { nodes: 2, cpuCoresPerNode: 4, memoryGbPerNode: 8, gpusPerNode: 0, storageGb: 0, gpuType: '' });
    assert.deepEqual(stored.job.agreedPrice, [{ denom: 'uvirt', amount: '1500' }]);
    assert.equal(stored.startedAt?.toISOString(), '2026-12-07T00:00:12.000Z');
    assert.equal(stored.completedAt, null);
    assert.equal(decodeStoredJob(new Uint8Array()), null);
  });

  it('refuses a value that is not a job record (unknown state)', () => {
    assert.throws(() => decodeStoredJob(json({ ...RECORD, state: 'JOB_STATE_RUNNING' })), /not an x\/hpc job record/);
  });

  it('reads a /subspace answer (kv.Pairs), skipping a record the keeper would skip', () => {
    const pairs = Pairs.encode({
      pairs: [
        { key: hpcJobKey('hpc-job-7'), value: json(RECORD) },
        { key: hpcJobKey('hpc-job-8'), value: new TextEncoder().encode('{not json') },
        { key: hpcJobKey('hpc-job-9'), value: json({ ...RECORD, job_id: 'hpc-job-9', state: 'pending' }) },
      ],
    }).finish();
    assert.deepEqual(
      decodeStoredJobs(pairs).map((s) => [s.job.jobId, s.job.state]),
      [
        ['hpc-job-7', JobState.JOB_STATE_RUNNING],
        ['hpc-job-9', JobState.JOB_STATE_PENDING],
      ],
    );
  });
});
