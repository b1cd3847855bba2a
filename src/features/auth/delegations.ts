import { Injectable } from '@nestjs/common';
import { invalid, notFound, Problem } from '../../core/common/problem';
import { DelegationRow, DelegationsRepository } from './delegations.repository';
import { PrincipalsRepository } from './principals.repository';
import type { Principal, Scope } from '../../core/auth/principal';

/** A delegation lasts at most 30 days (the chain's market delegation limit). */
export const MAX_DELEGATION_SECONDS = 30 * 24 * 3600;
/** What a researcher may delegate: acting on its jobs, nothing administrative. */
export const DELEGABLE_SCOPES: readonly Scope[] = ['submit', 'read'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const view = (row: DelegationRow) => ({
  id: row.id,
  principalId: row.principal_id,
  delegateId: row.delegate_id,
  scopes: row.scopes,
  createdAt: new Date(row.created_at).toISOString(),
  expiresAt: new Date(row.expires_at).toISOString(),
  revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
});

/** A principal acting through a delegation may not grant, revoke or mint credentials as the researcher. */
export const actsThroughDelegation = (principal: Principal): boolean => principal.credentialId.startsWith('delegation:');

/**
 * Marketplace accounts act for a researcher only with that researcher's delegation: the
 * researcher grants some of its scopes to one marketplace principal until an expiry; the
 * marketplace then sends `X-On-Behalf-Of: <researcher id>` and is treated as the researcher (its
 * jobs, its POSIX account, its chain identity for the gates) with the scopes both hold.
 */
@Injectable()
export class DelegationsService {
  constructor(
    private readonly delegations: DelegationsRepository,
    private readonly principals: PrincipalsRepository,
  ) {}

  async grant(researcher: Principal, input: { delegateId: string; scopes: Scope[]; expiresInSeconds?: number }) {
    if (researcher.kind !== 'researcher' || actsThroughDelegation(researcher)) {
      throw new Problem(403, 'Forbidden', 'only a researcher, acting as itself, delegates to a marketplace account');
    }
    const beyond = input.scopes.filter((s) => !researcher.scopes.has(s) || !DELEGABLE_SCOPES.includes(s));
    if (beyond.length > 0) throw invalid('scopes', `cannot delegate ${beyond.join(', ')} (only scopes you hold, among ${DELEGABLE_SCOPES.join(', ')})`);
    if ((await this.principals.enabledKindOf(input.delegateId)) !== 'marketplace') throw invalid('delegateId', 'is not a marketplace account');
    return view(await this.delegations.insert(researcher.id, input.delegateId, input.scopes, input.expiresInSeconds ?? MAX_DELEGATION_SECONDS));
  }

  /** Delegations the caller granted (researcher) or received (marketplace), newest first. */
  async list(principal: Principal) {
    return { items: (await this.delegations.involving(principal.id)).map(view) };
  }

  /** The researcher who granted it revokes it; to anyone else it does not exist. */
  async revoke(principal: Principal, id: string): Promise<void> {
    if (actsThroughDelegation(principal)) throw new Problem(403, 'Forbidden', 'a delegation cannot revoke delegations');
    if (!UUID.test(id)) throw notFound(`delegation ${id}`);
    if (!(await this.delegations.revoke(id, principal.id))) throw notFound(`delegation ${id}`);
  }

  /**
   * The researcher `delegate` may act as, with the scopes both hold; null without an active
   * delegation. Not cached: a revocation takes effect on the next request.
   */
  async actingAs(delegate: Principal, researcherId: string): Promise<Principal | null> {
    if (!UUID.test(researcherId)) throw invalid('X-On-Behalf-Of', 'must be the id of the researcher you act for');
    const row = await this.delegations.active(delegate.id, researcherId);
    if (!row) return null;
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      slurmUser: row.slurm_user,
      chainAddress: row.chain_address,
      scopes: new Set(row.scopes.filter((s) => delegate.scopes.has(s))),
      credentialId: `delegation:${row.delegation_id}:${delegate.credentialId}`,
      sentBy: { id: delegate.id, kind: delegate.kind },
    };
  }
}
