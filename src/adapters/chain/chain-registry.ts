import { Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { VIRTENGINE_MESSAGE_TYPES } from './virtengine-messages';

/** The cosmjs registry: the SDK's own messages plus ours. */
export function chainRegistry(): Registry {
  return new Registry([...defaultRegistryTypes, ...VIRTENGINE_MESSAGE_TYPES]);
}
