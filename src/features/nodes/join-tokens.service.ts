import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { principalActor } from '../../core/audit/audit-trail';
import type { Principal } from '../../core/auth/principal';
import { invalid, notFound, Problem } from '../../core/common/problem';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, generateJoinToken } from '../../core/nodes/join-token';
import { JoinTokenRow, JoinTokensRepository } from './join-tokens.repository';
import { joinTokenState, joinTokenView } from './node-view';
import { providerAccess } from './provider-access';
import { transaction } from '../../adapters/postgres/transactions';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why a token cannot be used, as the problem the agent gets:
 *   unknown (forged, mistyped)          401 Unauthorized
 *   revoked (or its provider disabled)  403 Forbidden
 *   expired or used up                  410 Gone
 */
export function tokenRefusal(row: JoinTokenRow | null): Problem {
  if (!row) return new Problem(401, 'Unauthorized', 'the join token is not valid', { field: 'token' });
  switch (joinTokenState(row)) {
    case 'revoked':
      return new Problem(403, 'Forbidden', 'the join token was revoked', { field: 'token', tokenState: 'revoked' });
    case 'expired':
      return new Problem(410, 'Gone', 'the join token expired; ask the provider admin for a new one', { field: 'token', tokenState: 'expired' });
    case 'used_up':
      return new Problem(410, 'Gone', `the join token was already used (${row.max_uses} of ${row.max_uses} uses)`, {
        field: 'token',
        tokenState: 'used_up',
      });
    default:
      // Good a moment ago; it expired or was used up in between.
      return new Problem(410, 'Gone', 'the join token can no longer be used', { field: 'token' });
  }
}

@Injectable()
export class JoinTokensService {
  constructor(
    private readonly db: DataSource,
    private readonly tokens: JoinTokensRepository,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
  ) {}

  async create(principal: Principal, input: { providerId?: string; expiresInSeconds?: number; maxUses?: number }) {
    const own = providerAccess(principal);
    let providerId: string;
    if (own === null) {
      if (!input.providerId) throw invalid('providerId', 'a platform admin names the provider the token is for');
      if ((await this.tokens.providerKind(input.providerId)) !== 'provider_admin') {
        throw invalid('providerId', 'is not a provider admin principal');
      }
      providerId = input.providerId;
    } else {
      if (input.providerId && input.providerId !== own) {
        throw new Problem(403, 'Forbidden', 'a provider admin creates join tokens for itself only', { field: 'providerId' });
      }
      providerId = own;
    }
    const fresh = generateJoinToken();
    const { actor, details } = principalActor(principal);
    const row = await transaction(this.db, async (m) => {
      const inserted = await this.tokens.insert(
        providerId,
        principal.id,
        fresh.prefix,
        fresh.hash,
        input.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
        input.maxUses ?? 1,
        m,
      );
      const view = joinTokenView(inserted);
      await this.audit.record({
        actor,
        action: 'join_token.create',
        target: `join_token:${inserted.id}`,
        details: { ...details, providerId, prefix: fresh.prefix, maxUses: view.maxUses, expiresAt: view.expiresAt },
      });
      return inserted;
    });
    return { ...joinTokenView(row), token: fresh.token };
  }

  async list(principal: Principal, providerId: string | undefined, limit: number) {
    const own = providerAccess(principal);
    const filter = own ?? providerId ?? null;
    if (own !== null && providerId && providerId !== own) return { items: [] };
    return { items: (await this.tokens.list(filter, limit)).map(joinTokenView) };
  }

  /** Revoking is idempotent; another provider's token is indistinguishable from none. */
  async revoke(principal: Principal, id: string): Promise<void> {
    const own = providerAccess(principal);
    const token = UUID.test(id) ? await this.tokens.findVisible(id, own) : null;
    if (!token) throw notFound(`join token ${id}`);
    if (token.revoked_at) return;
    const { actor, details } = principalActor(principal);
    await transaction(this.db, async (m) => {
      await this.tokens.revoke(id, m);
      await this.audit.record({ actor, action: 'join_token.revoke', target: `join_token:${id}`, details: { ...details, providerId: token.provider_id } });
    });
  }
}
