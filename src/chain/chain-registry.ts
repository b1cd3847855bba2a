import { GeneratedType, Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import {
  MsgCreateOffering,
  MsgRegisterCluster,
  MsgReportJobStatus,
  MsgUpdateCluster,
  MsgUpdateNodeMetadata,
} from './generated/virtengine';

/** The VirtEngine messages we sign, by type URL (`/` + full protobuf name). */
export const VIRTENGINE_MESSAGE_TYPES: ReadonlyArray<[string, GeneratedType]> = [
  MsgReportJobStatus,
  MsgRegisterCluster,
  MsgUpdateCluster,
  MsgCreateOffering,
  MsgUpdateNodeMetadata,
].map((type) => [type.typeUrl, type] as [string, GeneratedType]);

/** The cosmjs registry: the SDK's own messages plus ours. */
export function chainRegistry(): Registry {
  return new Registry([...defaultRegistryTypes, ...VIRTENGINE_MESSAGE_TYPES]);
}
