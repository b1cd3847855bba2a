import { createHash, randomBytes } from 'node:crypto';

/**
 * Join tokens: 32 random bytes behind `jt_`, shown once; only the SHA-256 is stored (as for API
 * keys, 256 bits of entropy need no slow hash). A token lets a provider's machine join as one of
 * that provider's nodes, `maxUses` times, until it expires or is revoked.
 */
const PREFIX = 'jt_';
const SHAPE = /^jt_[A-Za-z0-9_-]{43}$/;

export const MAX_TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600;
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
/** How long a join challenge's nonce may be used. */
export const NONCE_TTL_SECONDS = 120;
/** Unused, unexpired nonces one token may have at a time. */
export const MAX_OPEN_NONCES = 100;

export function generateJoinToken(): { token: string; prefix: string; hash: Buffer } {
  const token = PREFIX + randomBytes(32).toString('base64url');
  return { token, prefix: token.slice(0, 11), hash: hashJoinToken(token) };
}

export function hashJoinToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function looksLikeJoinToken(value: unknown): value is string {
  return typeof value === 'string' && SHAPE.test(value);
}

export function generateNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** A provider group is a tag value and a SLURM feature (`provider-<group>`): no colon, at most 64 characters. */
const PROVIDER_GROUP = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The provider group of every node a provider's join token admits: the provider's principal name
 * (unique among principals), or its id when the name cannot be a tag. Set by the control plane,
 * never by the agent: islands, `--constraint=provider-…`, `placement.providers` and the
 * `providerGroup` hard tag all rely on it naming the provider that really owns the machine.
 */
export function providerGroupOf(provider: { id: string; name: string }): string {
  return PROVIDER_GROUP.test(provider.name) ? provider.name : provider.id;
}

/**
 * The SLURM-safe stem of a provider's node names: lower-case letters, digits and dashes, starting
 * with a letter, at most 24 characters ("Acme GPU Cloud" → "acme-gpu-cloud").
 */
export function nodeNamePrefix(providerName: string): string {
  const stem = providerName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  return stem || 'node';
}
