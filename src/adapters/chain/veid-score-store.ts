import { fromBech32 } from '@cosmjs/encoding';

/**
 * x/veid at 4954b9cc does not implement Query/IdentityScore (its query server embeds
 * UnimplementedQueryServer), but keeps each score in its KV store, readable through the ABCI
 * store query: key PrefixScore (0x08) + the account's 20 address bytes (x/veid/types/keys.go
 * ScoreKey), value the keeper's `scoreStore` JSON (x/veid/keeper/score.go).
 */
export const VEID_STORE_PATH = '/store/veid/key';
const PREFIX_SCORE = 0x08;

/** The stored record as the keeper writes it (json tags of `scoreStore`). */
export interface StoredIdentityScore {
  accountAddress: string;
  score: number;
  /** x/veid's AccountStatus string: "verified", "pending", …; "expired" once expires_at has passed. */
  status: string;
  modelVersion: string;
  computedAt: number;
  expiresAt: number | null;
}

/** bech32's own length limit, which the SDK decodes account addresses with. */
const BECH32_LIMIT = 90;

export function veidScoreKey(address: string): Uint8Array {
  const { data } = fromBech32(address, BECH32_LIMIT);
  return Uint8Array.from([PREFIX_SCORE, ...data]);
}

/** The record, or null for an empty value (no score stored). Applies GetScore's expiry rule. */
export function decodeStoredScore(value: Uint8Array, nowSeconds: number): StoredIdentityScore | null {
  if (value.length === 0) return null;
  const raw = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>;
  const expiresAt = typeof raw.expires_at === 'number' ? raw.expires_at : null;
  return {
    accountAddress: String(raw.account_address ?? ''),
    score: Number(raw.score ?? 0),
    status: expiresAt !== null && nowSeconds > expiresAt ? 'expired' : String(raw.status ?? 'unknown'),
    modelVersion: String(raw.model_version ?? ''),
    computedAt: Number(raw.computed_at ?? 0),
    expiresAt,
  };
}
