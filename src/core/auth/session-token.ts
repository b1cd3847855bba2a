import { randomBytes } from 'node:crypto';
import { hashApiKey } from './api-key';
import type { PrincipalKind, Scope } from './principal';

/**
 * Login session tokens (`st_`, short-lived) and refresh tokens (`rt_`): 256 random bits each,
 * opaque, only their SHA-256 stored (as for API keys, nothing to brute-force).
 */
const SESSION_PREFIX = 'st_';
const REFRESH_PREFIX = 'rt_';

export const isSessionToken = (value: string): boolean => value.startsWith(SESSION_PREFIX);
export const isRefreshToken = (value: string): boolean => value.startsWith(REFRESH_PREFIX) && value.length <= 200;

export function generateSessionTokens(): { sessionToken: string; refreshToken: string } {
  return {
    sessionToken: SESSION_PREFIX + randomBytes(32).toString('base64url'),
    refreshToken: REFRESH_PREFIX + randomBytes(32).toString('base64url'),
  };
}

/** The same SHA-256 as API keys. */
export const hashSecret = hashApiKey;

/** What a wallet login may do, by the kind of principal the wallet is. */
export function sessionScopes(kind: PrincipalKind): ReadonlySet<Scope> {
  switch (kind) {
    case 'researcher':
      return new Set<Scope>(['submit', 'read']);
    case 'provider_admin':
      return new Set<Scope>(['provider', 'read']);
    default:
      return new Set<Scope>(['read']);
  }
}
