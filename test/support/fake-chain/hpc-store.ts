import { Pairs } from 'cosmjs-types/cosmos/store/internal/kv/v1beta1/kv';
import { HPCJob, JobState } from '../../../src/adapters/chain/generated/virtengine';

/** x/hpc/types/keys.go JobPrefix: a job's key is 0x03 + the job id's bytes. */
const JOB_PREFIX = 0x03;
/** HPCRewardPrefix: a reward record's key is 0x08 + the reward id's bytes. */
const REWARD_PREFIX = 0x08;

/** x/hpc/types/job.go JobState values, as json.Marshal writes them. */
const STATE_NAMES: Record<number, string> = {
  [JobState.JOB_STATE_PENDING]: 'pending',
  [JobState.JOB_STATE_QUEUED]: 'queued',
  [JobState.JOB_STATE_RUNNING]: 'running',
  [JobState.JOB_STATE_COMPLETED]: 'completed',
  [JobState.JOB_STATE_FAILED]: 'failed',
  [JobState.JOB_STATE_CANCELLED]: 'cancelled',
  [JobState.JOB_STATE_TIMEOUT]: 'timeout',
};

/** Go's zero time.Time, which json.Marshal writes for a `created_at` never set. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** The keeper's transition times (x/hpc/keeper/keeper.go UpdateJobStatus / CancelJob stamp them). */
export interface JobTimes {
  createdAt?: Date;
  queuedAt?: Date;
  startedAt?: Date;
  completedAt?: Date;
}

/**
 * A job as keeper.SetJob stores it: `json.Marshal(types.HPCJob)` with the struct's json tags
 * (x/hpc/types/job.go), `omitempty` fields left out when empty, times as RFC 3339.
 */
export function storedJobJson(job: HPCJob, times: JobTimes): Uint8Array {
  const spec = job.workloadSpec;
  const resources = job.resources;
  const omitEmpty = (entries: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== '' && v !== 0 && !(Array.isArray(v) && v.length === 0)));
  const json = {
    job_id: job.jobId,
    offering_id: job.offeringId,
    cluster_id: job.clusterId,
    provider_address: job.providerAddress,
    customer_address: job.customerAddress,
    ...omitEmpty({ slurm_job_id: job.slurmJobId }),
    state: STATE_NAMES[job.state],
    queue_name: job.queueName,
    workload_spec: {
      container_image: spec?.containerImage ?? '',
      command: spec?.command ?? '',
      ...omitEmpty({
        arguments: spec?.arguments,
        environment: spec?.environment.length ? Object.fromEntries(spec.environment.map((e) => [e.key, e.value])) : undefined,
        working_directory: spec?.workingDirectory,
        preconfigured_workload_id: spec?.preconfiguredWorkloadId,
      }),
      is_preconfigured: spec?.isPreconfigured ?? false,
    },
    resources: {
      nodes: resources?.nodes ?? 0,
      cpu_cores_per_node: resources?.cpuCoresPerNode ?? 0,
      memory_gb_per_node: resources?.memoryGbPerNode ?? 0,
      ...omitEmpty({ gpus_per_node: resources?.gpusPerNode }),
      storage_gb: resources?.storageGb ?? 0,
      ...omitEmpty({ gpu_type: resources?.gpuType }),
    },
    max_runtime_seconds: Number(job.maxRuntimeSeconds),
    agreed_price: job.agreedPrice.map((c) => ({ denom: c.denom, amount: c.amount })),
    ...omitEmpty({ status_message: job.statusMessage, exit_code: job.exitCode }),
    created_at: times.createdAt?.toISOString() ?? GO_ZERO_TIME,
    ...(times.queuedAt ? { queued_at: times.queuedAt.toISOString() } : {}),
    ...(times.startedAt ? { started_at: times.startedAt.toISOString() } : {}),
    ...(times.completedAt ? { completed_at: times.completedAt.toISOString() } : {}),
    block_height: Number(job.blockHeight),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/**
 * x/hpc's KV store as ABCI store queries read it (cosmos-sdk `store/iavl` Query): `/key` answers
 * the value under the key (empty when none), `/subspace` every pair whose key starts with the
 * data, in key order, as kv.Pairs. Only job records and reward records (HPCRewardRecord JSON as a
 * test writes it: the keeper creates none at 4954b9cc, see README) are kept here.
 */
export function hpcStoreQueries(jobs: Map<string, HPCJob>, times: Map<string, JobTimes>, rewards: Map<string, Record<string, unknown>>) {
  const entries = () =>
    [
      ...[...jobs.values()].map((job) => ({
        key: Uint8Array.from([JOB_PREFIX, ...Buffer.from(job.jobId)]),
        value: storedJobJson(job, times.get(job.jobId) ?? {}),
      })),
      ...[...rewards].map(([id, record]) => ({
        key: Uint8Array.from([REWARD_PREFIX, ...Buffer.from(id)]),
        value: new TextEncoder().encode(JSON.stringify(record)),
      })),
    ].sort((a, b) => Buffer.compare(a.key, b.key));
  /** One record by its key, without serializing the rest (a store with thousands of jobs is read per job). */
  const valueAt = (key: Uint8Array): Uint8Array | undefined => {
    const id = Buffer.from(key.subarray(1)).toString();
    if (key[0] === JOB_PREFIX) {
      const job = jobs.get(id);
      return job && Buffer.from(key).equals(Uint8Array.from([JOB_PREFIX, ...Buffer.from(job.jobId)])) ? storedJobJson(job, times.get(id) ?? {}) : undefined;
    }
    const record = key[0] === REWARD_PREFIX ? rewards.get(id) : undefined;
    return record ? new TextEncoder().encode(JSON.stringify(record)) : undefined;
  };
  return {
    key: (key: Uint8Array): Uint8Array => valueAt(key) ?? new Uint8Array(),
    subspace: (prefix: Uint8Array): Uint8Array => {
      const pairs = entries().filter((e) => Buffer.from(e.key.subarray(0, prefix.length)).equals(prefix));
      return Pairs.encode({ pairs }).finish();
    },
  };
}
