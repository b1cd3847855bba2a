import { fromBech32 } from '@cosmjs/encoding';
import {
  JobState,
  MsgCancelJob,
  MsgCreateOffering,
  MsgRegisterCluster,
  MsgReportJobStatus,
  MsgSubmitJob,
  MsgUpdateNodeMetadata,
} from '../../../src/adapters/chain/generated/virtengine';
import { HpcRefusal } from './ledger';

/**
 * The codes ValidateBasic fails with: sdk/go/node/hpc/v1/errors.go registers them in codespace
 * "hpc" with small numbers, apart from the keeper's 2100+ (x/hpc/types/errors.go).
 */
export const HPC_BASIC_CODE = { INVALID_ADDRESS: 1, INVALID_CLUSTER: 2, INVALID_OFFERING: 3, INVALID_JOB: 4, INVALID_NODE: 5, INVALID_STATUS: 7 } as const;

const DESCRIPTION: Record<number, string> = {
  1: 'invalid address',
  2: 'invalid cluster',
  3: 'invalid offering',
  4: 'invalid job',
  5: 'invalid node',
  7: 'invalid status',
};

/** bech32's own length limit (the SDK decodes account addresses with it). */
const BECH32_LIMIT = 90;

const refuse = (code: number, why: string) => new HpcRefusal(code, `${why}: ${DESCRIPTION[code]}`);

function address(value: string, role: string): void {
  if (!value) throw refuse(HPC_BASIC_CODE.INVALID_ADDRESS, `${role} address is required`);
  try {
    fromBech32(value, BECH32_LIMIT);
  } catch (error) {
    throw refuse(HPC_BASIC_CODE.INVALID_ADDRESS, `invalid ${role} address: ${(error as Error).message}`);
  }
}

/** ValidateBasic of the x/hpc messages the fake executes (sdk/go/node/hpc/v1/msgs.go at 4954b9cc). */
export const validateBasic = {
  registerCluster(msg: MsgRegisterCluster): void {
    address(msg.providerAddress, 'provider');
    if (!msg.name) throw refuse(HPC_BASIC_CODE.INVALID_CLUSTER, 'name cannot be empty');
    if (!msg.region) throw refuse(HPC_BASIC_CODE.INVALID_CLUSTER, 'region cannot be empty');
    if (msg.totalNodes === 0) throw refuse(HPC_BASIC_CODE.INVALID_CLUSTER, 'total_nodes must be greater than zero');
  },
  createOffering(msg: MsgCreateOffering): void {
    address(msg.providerAddress, 'provider');
    if (!msg.clusterId) throw refuse(HPC_BASIC_CODE.INVALID_OFFERING, 'cluster_id cannot be empty');
    if (!msg.name) throw refuse(HPC_BASIC_CODE.INVALID_OFFERING, 'name cannot be empty');
  },
  submitJob(msg: MsgSubmitJob): void {
    address(msg.customerAddress, 'customer');
    if (!msg.offeringId) throw refuse(HPC_BASIC_CODE.INVALID_JOB, 'offering_id cannot be empty');
    if (!msg.resources || msg.resources.nodes === 0) throw refuse(HPC_BASIC_CODE.INVALID_JOB, 'resources.nodes must be greater than zero');
  },
  cancelJob(msg: MsgCancelJob): void {
    address(msg.requesterAddress, 'requester');
    if (!msg.jobId) throw refuse(HPC_BASIC_CODE.INVALID_JOB, 'job_id cannot be empty');
  },
  reportJobStatus(msg: MsgReportJobStatus): void {
    address(msg.providerAddress, 'provider');
    if (!msg.jobId) throw refuse(HPC_BASIC_CODE.INVALID_JOB, 'job_id cannot be empty');
    if (msg.state === JobState.JOB_STATE_UNSPECIFIED) throw refuse(HPC_BASIC_CODE.INVALID_STATUS, 'state cannot be unspecified');
  },
  updateNodeMetadata(msg: MsgUpdateNodeMetadata): void {
    address(msg.providerAddress, 'provider');
    if (!msg.nodeId) throw refuse(HPC_BASIC_CODE.INVALID_NODE, 'node_id cannot be empty');
    if (!msg.clusterId) throw refuse(HPC_BASIC_CODE.INVALID_NODE, 'cluster_id cannot be empty');
  },
};
