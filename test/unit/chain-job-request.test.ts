import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HPCJob } from '../../src/adapters/chain/generated/virtengine';
import { Problem } from '../../src/core/common/problem';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { chainJobSubmission } from '../../src/features/ledger/chain-job-request';

const job = (over: Partial<HPCJob> = {}) =>
  HPCJob.fromPartial({
    jobId: 'JOB-7',
    offeringId: 'OFF-1',
    clusterId: 'HPC-1',
    customerAddress: 've1c',
    queueName: 'debug',
    maxRuntimeSeconds: 90n,
    workloadSpec: { containerImage: 'docker://ubuntu:22.04', command: 'echo hi', arguments: ["it's", 'a b'], environment: [{ key: 'A', value: '1' }] },
    resources: { nodes: 2, cpuCoresPerNode: 4, memoryGbPerNode: 8, gpusPerNode: 1, gpuType: 'a100' },
    ...over,
  });

const POLICY = { slurmUser: 'alice', workdirRoots: ['/home/{user}'], defaultEnvironment: {}, maxScriptBytes: 65536, partitions: new Set(['debug']) };

describe('a chain job as an sbatch submission', () => {
  it('maps queue, nodes, cores, memory, runtime (minutes, rounded up) and GPUs to the directives the parser reads', () => {
    const input = chainJobSubmission(job(), 'local-a', 'host');
    const normalized = normalizeSubmission(input, POLICY);
    assert.equal(normalized.spec.partition, 'debug');
    assert.equal(normalized.spec.nodes?.min, 2);
    assert.equal(normalized.spec.cpusPerTask, 4);
    assert.equal(normalized.spec.timeLimitMinutes, 2);
    assert.equal(normalized.name, 've-JOB-7');
    assert.deepEqual(normalized.constraints.islands, ['local-a']);
    assert.match(input.script, /#SBATCH --mem=8G\n/);
    assert.match(input.script, /#SBATCH --gres=gpu:a100:1\n/);
    assert.match(input.script, /\necho hi 'it'\\''s' 'a b'\n$/);
    assert.deepEqual(
      {
        A: input.environment!.A,
        id: input.environment!.VIRTENGINE_JOB_ID,
        cluster: input.environment!.VIRTENGINE_CLUSTER_ID,
        image: input.environment!.VIRTENGINE_CONTAINER_IMAGE,
      },
      { A: '1', id: 'JOB-7', cluster: 'HPC-1', image: 'docker://ubuntu:22.04' },
    );
  });

  it('runs the command inside the image with apptainer', () => {
    const input = chainJobSubmission(
      job({
        workloadSpec: {
          containerImage: 'docker://x',
          command: 'hostname',
          arguments: [],
          environment: [],
          workingDirectory: '',
          preconfiguredWorkloadId: '',
          isPreconfigured: false,
        },
      }),
      'local-a',
      'apptainer',
    );
    assert.match(input.script, /\napptainer exec 'docker:\/\/x' \/bin\/sh -c 'hostname'\n$/);
  });

  it('refuses what cannot be said safely as a directive, as a 400 problem', () => {
    const refused = (over: Partial<HPCJob>) =>
      assert.throws(
        () => chainJobSubmission(job(over), 'local-a', 'host'),
        (e: unknown) => e instanceof Problem && e.status === 400,
      );
    refused({ queueName: 'debug --uid=0' });
    refused({ resources: { nodes: 0, cpuCoresPerNode: 1, memoryGbPerNode: 1, gpusPerNode: 0, storageGb: 0, gpuType: '' } });
    refused({ resources: { nodes: 1, cpuCoresPerNode: 1, memoryGbPerNode: 1, gpusPerNode: 1, storageGb: 0, gpuType: 'a100 --x' } });
    refused({
      workloadSpec: {
        containerImage: 'i',
        command: 'a\nb',
        arguments: [],
        environment: [],
        workingDirectory: '',
        preconfiguredWorkloadId: '',
        isPreconfigured: false,
      },
    });
    refused({
      workloadSpec: {
        containerImage: 'i',
        command: 'x',
        arguments: [],
        environment: [],
        workingDirectory: '/tmp/a b',
        preconfiguredWorkloadId: '',
        isPreconfigured: false,
      },
    });
  });
});
