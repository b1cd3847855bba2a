import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys are 32 random bytes, shown once. Only their SHA-256 is stored: with 256 bits of entropy
 * a fast hash is enough (nothing to brute-force), and lookups stay one indexed equality.
 */
const PREFIX = 'ak_';

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: Buffer;
}

/** The part of a key that names it without revealing it: listed with the key, kept in the audit trail. */
const PREFIX_LENGTH = 11;

export function generateApiKey(): NewApiKey {
  const key = PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function looksLikeApiKey(value: string): boolean {
  return value.length <= 200 && /^[A-Za-z0-9_\-.]+$/.test(value);
}

/**
 * What a failed authentication is counted under besides the source address: the presented
 * credential's prefix (an API key's as listed; a session or refresh token's first characters, as
 * random as a key's), so a client retrying with one stale credential locks out only that one.
 * Anything that is no credential at all counts as one, `malformed`.
 */
export function credentialFamily(presented: string): string {
  return looksLikeApiKey(presented) ? presented.slice(0, PREFIX_LENGTH) : 'malformed';
}
