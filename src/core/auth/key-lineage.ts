/**
 * What a new API key may be, given the credential that mints it. Pure logic, no I/O.
 *
 * A key never outlives the credential that minted it: its expiry is at most the minting key's
 * expiry, or for a wallet login the refresh expiry of the session that minted it (the latest the
 * login lives without being refreshed). A lifetime asked beyond that is refused; a lifetime not
 * asked is the default cut to that bound.
 */

/** The credential a request was made with, from Principal.credentialId. */
export type MintingCredential = { kind: 'bootstrap' } | { kind: 'api_key'; id: string } | { kind: 'session'; id: string } | { kind: 'delegation' };

export function mintingCredential(credentialId: string): MintingCredential {
  if (credentialId === 'bootstrap') return { kind: 'bootstrap' };
  if (credentialId.startsWith('delegation:')) return { kind: 'delegation' };
  if (credentialId.startsWith('session:')) return { kind: 'session', id: credentialId.slice('session:'.length) };
  return { kind: 'api_key', id: credentialId };
}

export interface KeyLifetime {
  /** What the caller asked for, in seconds; undefined when it did not ask. */
  requestedSeconds?: number;
  /** The lifetime when none is asked; null: no expiry. */
  defaultSeconds: number | null;
}

export type ExpiryDecision = { expiresAt: Date | null } | { refused: string };

/** The new key's expiry at `now`, bound by `bound` (the minting credential's end; null: none). */
export function keyExpiry(now: Date, lifetime: KeyLifetime, bound: Date | null): ExpiryDecision {
  const after = (seconds: number) => new Date(now.getTime() + seconds * 1000);
  if (lifetime.requestedSeconds !== undefined) {
    const asked = after(lifetime.requestedSeconds);
    if (bound && asked > bound) {
      const most = Math.max(0, Math.floor((bound.getTime() - now.getTime()) / 1000));
      return { refused: `at most ${most} seconds: the credential minting this key ends at ${bound.toISOString()}, and a key cannot outlive it` };
    }
    return { expiresAt: asked };
  }
  const wanted = lifetime.defaultSeconds === null ? null : after(lifetime.defaultSeconds);
  if (!bound) return { expiresAt: wanted };
  return { expiresAt: wanted && wanted < bound ? wanted : bound };
}
