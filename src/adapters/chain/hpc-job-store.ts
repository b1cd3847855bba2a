import { Pairs } from 'cosmjs-types/cosmos/store/internal/kv/v1beta1/kv';
import { HPCJob, JobState } from './generated/virtengine';

/**
 * x/hpc at 4954b9cc does not implement Query/Job or Query/Jobs (its query server embeds
 * UnimplementedQueryServer), but keeps every job in its KV store, readable through ABCI store
 * queries: key JobPrefix (0x03) + the job id's bytes (x/hpc/types/keys.go GetJobKey), value the
 * keeper's `json.Marshal(types.HPCJob)` (x/hpc/keeper/keeper.go SetJob). `/key` reads one job;
 * `/subspace` with the prefix answers every stored job (the IAVL store's prefix iteration,
 * encoded as kv.Pairs) — there is no pagination, so the answer grows with every job the chain
 * has ever held.
 */
export const HPC_STORE_KEY_PATH = '/store/hpc/key';
export const HPC_STORE_SUBSPACE_PATH = '/store/hpc/subspace';
export const HPC_JOB_PREFIX = 0x03;

/** A job as the keeper stores it, with the times our protobuf subset does not carry. */
export interface StoredHpcJob {
  job: HPCJob;
  /** Block times of the keeper's transitions (queued_at / started_at / completed_at), null until then. */
  queuedAt: Date | null;
  startedAt: Date | null;
  completedAt: Date | null;
}

export function hpcJobKey(jobId: string): Uint8Array {
  return Uint8Array.from([HPC_JOB_PREFIX, ...new TextEncoder().encode(jobId)]);
}

/** x/hpc/types/job.go JobState strings. */
const STATES: Record<string, JobState> = {
  pending: JobState.JOB_STATE_PENDING,
  queued: JobState.JOB_STATE_QUEUED,
  running: JobState.JOB_STATE_RUNNING,
  completed: JobState.JOB_STATE_COMPLETED,
  failed: JobState.JOB_STATE_FAILED,
  cancelled: JobState.JOB_STATE_CANCELLED,
  timeout: JobState.JOB_STATE_TIMEOUT,
};

type Json = Record<string, unknown>;

const text = (value: unknown) => (typeof value === 'string' ? value : '');
const int = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : 0);
const time = (value: unknown) => (typeof value === 'string' && !value.startsWith('0001-') ? new Date(value) : null);

/** One stored job, or null for an empty value (no such key). Throws on a value that is not the keeper's JSON. */
export function decodeStoredJob(value: Uint8Array): StoredHpcJob | null {
  if (value.length === 0) return null;
  const raw = JSON.parse(new TextDecoder().decode(value)) as Json;
  const state = STATES[text(raw.state)];
  if (!text(raw.job_id) || state === undefined) throw new Error(`not an x/hpc job record: ${JSON.stringify(raw).slice(0, 200)}`);
  const spec = (raw.workload_spec ?? {}) as Json;
  const resources = (raw.resources ?? {}) as Json;
  const environment = (spec.environment ?? {}) as Record<string, unknown>;
  const job = HPCJob.fromPartial({
    jobId: text(raw.job_id),
    offeringId: text(raw.offering_id),
    clusterId: text(raw.cluster_id),
    providerAddress: text(raw.provider_address),
    customerAddress: text(raw.customer_address),
    slurmJobId: text(raw.slurm_job_id),
    state,
    queueName: text(raw.queue_name),
    workloadSpec: {
      containerImage: text(spec.container_image),
      command: text(spec.command),
      arguments: Array.isArray(spec.arguments) ? spec.arguments.map(String) : [],
      // Go marshals a map with sorted keys; the order is kept.
      environment: Object.entries(environment).map(([key, v]) => ({ key, value: String(v) })),
      workingDirectory: text(spec.working_directory),
      preconfiguredWorkloadId: text(spec.preconfigured_workload_id),
      isPreconfigured: spec.is_preconfigured === true,
    },
    resources: {
      nodes: int(resources.nodes),
      cpuCoresPerNode: int(resources.cpu_cores_per_node),
      memoryGbPerNode: int(resources.memory_gb_per_node),
      gpusPerNode: int(resources.gpus_per_node),
      storageGb: int(resources.storage_gb),
      gpuType: text(resources.gpu_type),
    },
    maxRuntimeSeconds: BigInt(int(raw.max_runtime_seconds)),
    agreedPrice: Array.isArray(raw.agreed_price) ? (raw.agreed_price as Json[]).map((c) => ({ denom: text(c.denom), amount: text(c.amount) })) : [],
    statusMessage: text(raw.status_message),
    exitCode: int(raw.exit_code),
    blockHeight: BigInt(int(raw.block_height)),
  });
  return { job, queuedAt: time(raw.queued_at), startedAt: time(raw.started_at), completedAt: time(raw.completed_at) };
}

/** Every job in a `/subspace` answer (kv.Pairs); a record that does not decode is skipped, as WithJobs skips it. */
export function decodeStoredJobs(value: Uint8Array): StoredHpcJob[] {
  const jobs: StoredHpcJob[] = [];
  for (const pair of Pairs.decode(value).pairs) {
    if (pair.key[0] !== HPC_JOB_PREFIX) continue;
    try {
      const stored = decodeStoredJob(pair.value);
      if (stored) jobs.push(stored);
    } catch {
      // keeper.WithJobs `continue`s past a record it cannot unmarshal; so do we.
    }
  }
  return jobs;
}

/** x/hpc/types/keys.go HPCRewardPrefix: reward records (keeper/rewards.go SetHPCReward, JSON like jobs). */
export const HPC_REWARD_PREFIX = 0x08;

/** A reward record as the keeper stores it: the fields reconciliation compares. */
export interface StoredHpcReward {
  rewardId: string;
  jobId: string;
  totalReward: Array<{ denom: string; amount: string }>;
}

/** Every reward record in a `/subspace` answer for 0x08 (kv.Pairs); undecodable ones skipped, as WithHPCRewards does. */
export function decodeStoredRewards(value: Uint8Array): StoredHpcReward[] {
  const rewards: StoredHpcReward[] = [];
  for (const pair of Pairs.decode(value).pairs) {
    if (pair.key[0] !== HPC_REWARD_PREFIX) continue;
    try {
      const raw = JSON.parse(new TextDecoder().decode(pair.value)) as Json;
      if (!text(raw.job_id)) continue;
      const total = Array.isArray(raw.total_reward) ? (raw.total_reward as Json[]) : [];
      rewards.push({
        rewardId: text(raw.reward_id),
        jobId: text(raw.job_id),
        totalReward: total.map((c) => ({ denom: text(c.denom), amount: text(c.amount) })),
      });
    } catch {
      // keeper.WithHPCRewards skips a record it cannot unmarshal.
    }
  }
  return rewards;
}
