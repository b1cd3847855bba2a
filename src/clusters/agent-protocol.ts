import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/**
 * What node agents send, and how it is signed. Every message is canonical JSON signed with the
 * node's Ed25519 key; the control plane checks the signature, the purpose, freshness (clock skew)
 * and, for everything after the join, a strictly increasing sequence number. Pure: no I/O.
 */

export const PERFORMANCE_CLASSES = ['high', 'low'] as const;

export interface GpuInventory {
  model: string;
  count: number;
}

export interface NodeInventory {
  cpus: number;
  memoryMb: number;
  gpus: GpuInventory[];
  features: string[];
  performance: (typeof PERFORMANCE_CLASSES)[number];
}

export interface LocalityTags {
  region?: string;
  zone?: string;
  rack?: string;
  providerGroup?: string;
}

export interface JoinMessage {
  purpose: 'join';
  /** The single-use nonce the control plane handed out for this join token. */
  nonce: string;
  publicKey: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  /** host:port where this agent answers latency probes from its peers. */
  probeAddress: string;
  sentAt: number;
}

export interface HeartbeatMessage {
  purpose: 'heartbeat';
  nodeId: string;
  seq: number;
  sentAt: number;
  capacity: { cpusFree: number; memoryFreeMb: number; gpusFree: number };
  health: 'ok' | 'degraded';
  slurmdState: string;
}

export interface LatencyReport {
  purpose: 'latency';
  nodeId: string;
  seq: number;
  sentAt: number;
  samples: Array<{ peer: string; rttMs: number; loss: number; probes: number }>;
}

export type AgentMessage = JoinMessage | HeartbeatMessage | LatencyReport;

/** Ed25519 public keys travel as the 32 raw bytes, base64url. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function publicKeyToText(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_ED25519_PREFIX.length).toString('base64url');
}

export function publicKeyFromText(text: string): KeyObject {
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== text) throw new Error('not an Ed25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the agent key must be Ed25519');
  return key;
}

export function signMessage(message: AgentMessage, privateKey: KeyObject): string {
  return sign(null, Buffer.from(canonicalJson(message)), privateKey).toString('base64url');
}

export function signatureValid(message: AgentMessage, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson(message)), publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

export type MessageVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Everything but the signature and the stored sequence: the purpose matches the endpoint and
 * the sender's clock is within `maxSkewMs` of ours (a replay from long ago is refused even if
 * its sequence were somehow acceptable).
 */
export function checkFreshness(message: AgentMessage, purpose: AgentMessage['purpose'], nowMs: number, maxSkewMs: number): MessageVerdict {
  if (message.purpose !== purpose) return { ok: false, reason: `expected a ${purpose} message, got ${message.purpose}` };
  if (!Number.isFinite(message.sentAt)) return { ok: false, reason: 'sentAt must be a time in milliseconds' };
  const skew = Math.abs(message.sentAt - nowMs);
  if (skew > maxSkewMs) return { ok: false, reason: `clock skew of ${Math.round(skew / 1000)} s exceeds ${maxSkewMs / 1000} s` };
  return { ok: true };
}

/** Sequence numbers must strictly increase: an equal or lower one is a replay or out of order. */
export function checkSequence(seq: number, lastSeq: number): MessageVerdict {
  if (!Number.isSafeInteger(seq) || seq <= 0) return { ok: false, reason: 'seq must be a positive integer' };
  if (seq <= lastSeq) return { ok: false, reason: `seq ${seq} is not after ${lastSeq} (replayed or out of order)` };
  return { ok: true };
}

const FEATURE = /^[A-Za-z0-9_.-]{1,64}$/;
const TAG = /^[A-Za-z0-9_.:-]{1,64}$/;
const GPU_MODEL = /^[A-Za-z0-9_.-]{1,64}$/;

/** Validates an inventory an agent reported; returns the problem (naming the field) or null. */
export function inventoryProblem(inventory: NodeInventory, tags: LocalityTags): { field: string; reason: string } | null {
  const bad = (field: string, reason: string) => ({ field, reason });
  if (!Number.isInteger(inventory?.cpus) || inventory.cpus < 1 || inventory.cpus > 4096) return bad('inventory.cpus', '1 to 4096');
  if (!Number.isInteger(inventory.memoryMb) || inventory.memoryMb < 64 || inventory.memoryMb > 64 * 1024 * 1024) {
    return bad('inventory.memoryMb', '64 MiB to 64 TiB, in MiB');
  }
  if (!Array.isArray(inventory.gpus) || inventory.gpus.length > 16) return bad('inventory.gpus', 'a list of at most 16 models');
  for (const [i, gpu] of inventory.gpus.entries()) {
    if (!GPU_MODEL.test(gpu?.model ?? '')) return bad(`inventory.gpus[${i}].model`, 'letters, digits, . _ -');
    if (!Number.isInteger(gpu.count) || gpu.count < 1 || gpu.count > 64) return bad(`inventory.gpus[${i}].count`, '1 to 64');
  }
  if (!Array.isArray(inventory.features) || inventory.features.length > 64 || !inventory.features.every((f) => FEATURE.test(f))) {
    return bad('inventory.features', 'at most 64 words of letters, digits, . _ -');
  }
  if (!PERFORMANCE_CLASSES.includes(inventory.performance)) return bad('inventory.performance', 'high or low');
  for (const [name, value] of Object.entries(tags ?? {})) {
    if (!['region', 'zone', 'rack', 'providerGroup'].includes(name)) return bad(`tags.${name}`, 'unknown tag');
    if (typeof value !== 'string' || !TAG.test(value)) return bad(`tags.${name}`, 'letters, digits, . _ : -');
  }
  return null;
}
