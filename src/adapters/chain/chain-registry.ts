import { GeneratedType, Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import {
  MsgCancelJob,
  MsgCreateOffering,
  MsgRegisterCluster,
  MsgReportJobStatus,
  MsgSubmitJob,
  MsgUpdateCluster,
  MsgUpdateNodeMetadata,
} from './generated/virtengine';

/** The VirtEngine messages we sign (and the customer's MsgSubmitJob / MsgCancelJob), by type URL (`/` + full protobuf name). */
export const VIRTENGINE_MESSAGE_TYPES: ReadonlyArray<[string, GeneratedType]> = [
  MsgReportJobStatus,
  MsgRegisterCluster,
  MsgUpdateCluster,
  MsgCreateOffering,
  MsgUpdateNodeMetadata,
  // Signed by customers, not by us; registered so tools and tests can submit and cancel jobs on chain.
  MsgSubmitJob,
  MsgCancelJob,
].map((type) => [type.typeUrl, type] as [string, GeneratedType]);

/** The cosmjs registry: the SDK's own messages plus ours. */
export function chainRegistry(): Registry {
  return new Registry([...defaultRegistryTypes, ...VIRTENGINE_MESSAGE_TYPES]);
}
