import { GeneratedType, Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { MsgReportJobStatus } from './generated/virtengine';

/** The VirtEngine messages we sign, by type URL (`/` + full protobuf name). */
export const VIRTENGINE_MESSAGE_TYPES: ReadonlyArray<[string, GeneratedType]> = [[MsgReportJobStatus.typeUrl, MsgReportJobStatus]];

/** The cosmjs registry: the SDK's own messages plus ours. */
export function chainRegistry(): Registry {
  return new Registry([...defaultRegistryTypes, ...VIRTENGINE_MESSAGE_TYPES]);
}
