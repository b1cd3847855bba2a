import type { GeneratedType } from '@cosmjs/proto-signing';
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

/** A VirtEngine message's protobuf type, by type URL, without the cosmjs registry (which loads all of cosmjs). */
export type VirtEngineMessageType = GeneratedType & { encode(message: unknown): { finish(): Uint8Array }; decode(bytes: Uint8Array): unknown };

const BY_TYPE_URL = new Map(VIRTENGINE_MESSAGE_TYPES);

export function virtEngineMessageType(typeUrl: string): VirtEngineMessageType {
  const type = BY_TYPE_URL.get(typeUrl);
  if (!type) throw new Error(`${typeUrl} is not a VirtEngine message Archipelago sends`);
  return type as VirtEngineMessageType;
}
