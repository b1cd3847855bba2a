import { Any } from 'cosmjs-types/google/protobuf/any';
import {
  ClusterState,
  HPCJob,
  JobState,
  MsgCancelJob,
  MsgCancelJobResponse,
  MsgSubmitJob,
  MsgSubmitJobResponse,
} from '../../../src/adapters/chain/generated/virtengine';
import type { HpcProviderState } from './hpc-provider';
import type { JobTimes } from './hpc-store';
import { HpcRefusal, MsgHandler, Refusal } from './ledger';
import { validateBasic } from './validate-basic';

/** x/hpc error codes for customer submissions (types/errors.go, in the numbering of HPC_CODE). */
export const HPC_JOB_CODE = {
  CLUSTER_NOT_FOUND: 2101,
  INVALID_OFFERING: 2103,
  OFFERING_NOT_FOUND: 2104,
  INVALID_JOB: 2105,
  JOB_NOT_FOUND: 2106,
  INVALID_JOB_STATE: 2107,
  UNAUTHORIZED: 2118,
  MAX_RUNTIME_EXCEEDED: 2119,
} as const;

const TERMINAL: JobState[] = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_TIMEOUT];

/**
 * A customer's MsgSubmitJob as msg_server.SubmitJob + keeper.SubmitJob behave: the offering must
 * exist and be active, its cluster ACTIVE (else 2101 "cluster not found", as keeper.SubmitJob wraps
 * it); queue_name is required but never compared with the offering's queues; max_runtime_seconds in [60, offering max], a container image
 * unless the workload is preconfigured. The job is stored PENDING as JOB-<seq> with the offering's
 * cluster and provider, max_price as agreed_price, and an empty escrow id.
 * MsgCancelJob as keeper.CancelJob: the job's customer or provider may cancel any non-terminal
 * job (2106 unknown job, 2118 anyone else, 2107 a terminal job); it becomes CANCELLED with
 * "Cancelled by user" whatever reason the message gives.
 */
export function hpcCustomerHandlers(
  state: HpcProviderState & { jobs: Map<string, HPCJob>; stampJob(jobId: string, times: JobTimes): void },
  blockTime: () => Date,
): Array<[string, MsgHandler]> {
  const invalid = (why: string) => new HpcRefusal(HPC_JOB_CODE.INVALID_JOB, `${why}: invalid HPC job`);
  const submit: MsgHandler = {
    decode: (value) => MsgSubmitJob.decode(value),
    validateBasic: (msg) => validateBasic.submitJob(msg as MsgSubmitJob),
    signer: (msg) => (msg as MsgSubmitJob).customerAddress,
    check: (raw) => {
      const msg = raw as MsgSubmitJob;
      if (!msg.queueName) throw invalid('queue_name cannot be empty');
      if (msg.maxRuntimeSeconds < 60n) throw invalid('max_runtime_seconds must be at least 60');
      if (!msg.workloadSpec?.isPreconfigured && !msg.workloadSpec?.containerImage)
        throw invalid('workload_spec.container_image is required for custom workloads');
      const offering = state.offerings.get(msg.offeringId);
      if (!offering) throw new HpcRefusal(HPC_JOB_CODE.OFFERING_NOT_FOUND, `offering ${msg.offeringId}: HPC offering not found`);
      if (!offering.active) throw new HpcRefusal(HPC_JOB_CODE.INVALID_OFFERING, `offering ${msg.offeringId} is not active: invalid HPC offering`);
      if (state.clusters.get(offering.clusterId)?.state !== ClusterState.CLUSTER_STATE_ACTIVE) {
        throw new HpcRefusal(HPC_JOB_CODE.CLUSTER_NOT_FOUND, 'cluster is not active: cluster not found');
      }
      if (msg.maxRuntimeSeconds > offering.maxRuntimeSeconds) {
        throw new Refusal(
          HPC_JOB_CODE.MAX_RUNTIME_EXCEEDED,
          `max_runtime_seconds exceeds the offering's ${offering.maxRuntimeSeconds}: maximum runtime exceeded`,
        );
      }
    },
    apply: (raw) => {
      const msg = raw as MsgSubmitJob;
      const offering = state.offerings.get(msg.offeringId)!;
      const jobId = `JOB-${++state.counters.job}`;
      state.jobs.set(
        jobId,
        HPCJob.fromPartial({
          jobId,
          offeringId: offering.offeringId,
          clusterId: offering.clusterId,
          providerAddress: offering.providerAddress,
          customerAddress: msg.customerAddress,
          state: JobState.JOB_STATE_PENDING,
          queueName: msg.queueName,
          workloadSpec: msg.workloadSpec,
          resources: msg.resources,
          maxRuntimeSeconds: msg.maxRuntimeSeconds,
          agreedPrice: msg.maxPrice,
          blockHeight: BigInt(Math.floor(blockTime().getTime() / 1000)),
        }),
      );
      state.stampJob(jobId, { createdAt: blockTime() });
      return Any.fromPartial({
        typeUrl: MsgSubmitJobResponse.typeUrl,
        value: MsgSubmitJobResponse.encode(MsgSubmitJobResponse.fromPartial({ jobId, escrowId: '' })).finish(),
      });
    },
  };
  const cancel: MsgHandler = {
    decode: (value) => MsgCancelJob.decode(value),
    validateBasic: (msg) => validateBasic.cancelJob(msg as MsgCancelJob),
    signer: (msg) => (msg as MsgCancelJob).requesterAddress,
    check: (raw) => {
      const msg = raw as MsgCancelJob;
      const job = state.jobs.get(msg.jobId);
      if (!job) throw new HpcRefusal(HPC_JOB_CODE.JOB_NOT_FOUND, 'HPC job not found');
      if (job.customerAddress !== msg.requesterAddress && job.providerAddress !== msg.requesterAddress) {
        throw new HpcRefusal(HPC_JOB_CODE.UNAUTHORIZED, 'unauthorized');
      }
      if (TERMINAL.includes(job.state)) throw new HpcRefusal(HPC_JOB_CODE.INVALID_JOB_STATE, 'job is already in terminal state: invalid job state transition');
    },
    apply: (raw) => {
      const msg = raw as MsgCancelJob;
      // keeper.CancelJob: the message's reason is not stored; the status message is fixed.
      state.jobs.set(msg.jobId, { ...state.jobs.get(msg.jobId)!, state: JobState.JOB_STATE_CANCELLED, statusMessage: 'Cancelled by user' });
      state.stampJob(msg.jobId, { completedAt: blockTime() });
      return Any.fromPartial({ typeUrl: MsgCancelJobResponse.typeUrl, value: MsgCancelJobResponse.encode({}).finish() });
    },
  };
  return [
    [MsgSubmitJob.typeUrl, submit],
    [MsgCancelJob.typeUrl, cancel],
  ];
}
