import type { Principal } from '../../core/auth/principal';
import { Problem } from '../../core/common/problem';

/**
 * Whose nodes and join tokens a caller manages: a provider admin (scope `provider`) its own, a
 * platform admin (scope `admin`) every provider's. Returns the provider id to restrict to, or null
 * for "every provider".
 */
export function providerAccess(principal: Principal): string | null {
  if (principal.kind === 'platform_admin' && principal.scopes.has('admin')) return null;
  if (principal.kind === 'provider_admin' && principal.scopes.has('provider')) return principal.id;
  throw new Problem(403, 'Forbidden', 'nodes and join tokens need a provider admin key with the provider scope, or a platform admin key', {
    requiredScopes: ['provider'],
  });
}
