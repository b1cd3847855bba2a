import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../adapters/config/config.module';
import type { AppConfig } from '../../adapters/config/config';
import { Problem, conflict, invalid, notFound } from '../../core/common/problem';
import { principalActor } from '../../core/audit/audit-trail';
import { SlurmUserMapping, type IslandAccountReport } from '../../adapters/slurm/slurm-user-mapping';
import { generateApiKey, hashApiKey } from '../../core/auth/api-key';
import { hashSecret, isSessionToken, sessionScopes } from '../../core/auth/session-token';
import { keyExpiry, KeyLifetime, MintingCredential, mintingCredential } from '../../core/auth/key-lineage';
import { Principal, PrincipalKind, Scope } from '../../core/auth/principal';
import { transaction } from '../../adapters/postgres/transactions';
import { PrincipalRow, PrincipalsRepository, RevokedKey } from './principals.repository';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';

export interface PrincipalView {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurmUser: string | null;
  createdAt: string;
}

/** What a key lives and dies with: the key or the wallet login that minted it (null: nothing but itself). */
export type KeyParent = { type: 'api_key'; id: string } | { type: 'login'; id: string } | null;

export interface IssuedApiKey {
  id: string;
  key: string;
  prefix: string;
  scopes: Scope[];
  /** The effective expiry, after the minting credential's bound. */
  expiresAt: string | null;
  parent: KeyParent;
}

/** The minting credential as it stands in PostgreSQL: until when it lives, and what it is. */
interface MintingParent {
  now: Date;
  expiresAt: Date | null;
  keyId: string | null;
  loginId: string | null;
}

const BOOTSTRAP_NAME = 'bootstrap-admin';

@Injectable()
export class AuthService implements OnModuleInit {
  private bootstrapPrincipal: Principal | null = null;
  private readonly bootstrapKeyHash: Buffer | null;
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: DataSource,
    private readonly principals: PrincipalsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
    private readonly mapping: SlurmUserMapping,
  ) {
    this.bootstrapKeyHash = config.bootstrapAdminKey ? hashApiKey(config.bootstrapAdminKey) : null;
  }

  async onModuleInit(): Promise<void> {
    if (!this.config.bootstrapAdminKey) return;
    const row = await this.principals.ensureAdmin(BOOTSTRAP_NAME);
    this.bootstrapPrincipal = {
      ...this.toPrincipalBase(row),
      scopes: new Set<Scope>(['admin', 'read']),
      credentialId: 'bootstrap',
    };
  }

  /** Resolves a presented API key or login session token; null when it is unknown, revoked or expired. */
  async authenticate(presented: string): Promise<Principal | null> {
    if (isSessionToken(presented)) return this.authenticateSession(presented);
    // One hash serves both the bootstrap comparison (constant time) and the key lookup.
    const hash = hashApiKey(presented);
    if (this.bootstrapPrincipal && this.bootstrapKeyHash && timingSafeEqual(hash, this.bootstrapKeyHash)) {
      return this.bootstrapPrincipal;
    }
    const cacheKey = hash.toString('base64');
    const cached = this.cache.get(cacheKey);
    const now = Date.now();
    if (cached && cached.until > now) return cached.principal;
    const row = await this.principals.byKeyHash(hash);
    const principal: Principal | null = row ? { ...this.toPrincipalBase(row), scopes: new Set(row.scopes as Scope[]), credentialId: row.key_id } : null;
    if (this.config.apiKeyCacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      // Never past the key's own expiry; a revocation elsewhere (another process) shows within apiKeyCacheMs.
      const expiresAt = row?.expires_at ? new Date(row.expires_at).getTime() : Infinity;
      this.cache.set(cacheKey, { principal, until: Math.min(now + this.config.apiKeyCacheMs, expiresAt) });
    }
    return principal;
  }

  /** Drops this process's cached key lookups: call once a revocation has committed. */
  forgetCachedKeys(): void {
    this.cache.clear();
  }

  /** Sessions are never cached: a logout or revocation takes effect on the next request. */
  private async authenticateSession(presented: string): Promise<Principal | null> {
    const row = await this.principals.bySessionHash(hashSecret(presented));
    if (!row) return null;
    return { ...this.toPrincipalBase(row), scopes: sessionScopes(row.kind), credentialId: `session:${row.session_id}` };
  }

  /** Creates a principal; its POSIX account is checked on every island first (see SlurmUserMapping). */
  async createPrincipal(
    by: Principal,
    name: string,
    kind: PrincipalKind,
    slurmUser: string | null,
  ): Promise<PrincipalView & { slurmUserOnIslands?: IslandAccountReport[] }> {
    const onIslands = slurmUser === null ? undefined : await this.mapping.check(slurmUser);
    const view = await transaction(this.db, async () => {
      const created = await this.principals.create(name, kind, slurmUser);
      if (!created) throw conflict(`a principal named "${name}" already exists`, 'name');
      const { actor, details } = principalActor(by);
      await this.audit.record({ actor, action: 'principal.create', target: `principal:${created.id}`, details: { ...details, name, kind, slurmUser } });
      return this.view(created);
    });
    return onIslands ? { ...view, slurmUserOnIslands: onIslands } : view;
  }

  async listPrincipals(): Promise<PrincipalView[]> {
    return (await this.principals.list()).map((row) => this.view(row));
  }

  /**
   * Issues a key for `principalId`. It never outlives the credential `by` minted it with: its
   * expiry is at most that credential's (a longer `lifetime.requestedSeconds` is a 400 naming
   * `expiresInSeconds`; the default is cut to it). A principal's own key also holds at most the
   * caller's scopes and lives only as long as its parent: it is revoked with the minting key, or
   * with the logout of the minting login. A key an admin issues for another principal is bound by
   * the admin's credential's expiry only (provisioning survives the admin's key rotation).
   * `authorize` (step-up MFA) runs after every check that can refuse without spending it.
   */
  async issueApiKey(
    by: Principal,
    principalId: string,
    scopes: Scope[],
    lifetime: KeyLifetime,
    authorize: () => Promise<void> = async () => undefined,
  ): Promise<IssuedApiKey> {
    const credential = mintingCredential(by.credentialId);
    if (credential.kind === 'delegation') throw new Problem(403, 'Forbidden', 'a delegation cannot mint API keys for the researcher');
    const own = principalId === by.id;
    const beyond = own ? scopes.filter((scope) => !by.scopes.has(scope)) : [];
    if (beyond.length > 0) {
      throw new Problem(403, 'Forbidden', `you cannot grant scopes you do not hold: ${beyond.join(', ')}`, { field: 'scopes' });
    }
    const kind = await this.principals.kindOf(principalId);
    if (!kind) throw notFound(`principal ${principalId}`);
    if (scopes.includes('admin') && kind !== 'platform_admin') {
      throw new Problem(400, 'Invalid request', 'only platform admins can hold the admin scope', { field: 'scopes' });
    }
    if (scopes.includes('provider') && kind !== 'provider_admin' && kind !== 'platform_admin') {
      throw new Problem(400, 'Invalid request', 'only provider admins (and platform admins) can hold the provider scope', { field: 'scopes' });
    }
    expiryWithin(await this.mintingParent(credential, false), lifetime);
    await authorize();
    const fresh = generateApiKey();
    return transaction(this.db, async () => {
      // Locked: a revocation of the parent under way waits for this key to commit, then revokes it too.
      const parent = await this.mintingParent(credential, true);
      const expiresAt = expiryWithin(parent, lifetime);
      const lineage = own ? parentOf(parent) : null;
      const id = await this.principals.insertKey({
        principalId,
        prefix: fresh.prefix,
        hash: fresh.hash,
        scopes,
        expiresAt,
        parentKeyId: lineage ? parent.keyId : null,
        parentLoginId: lineage ? parent.loginId : null,
      });
      const issued: IssuedApiKey = { id, key: fresh.key, prefix: fresh.prefix, scopes, expiresAt: expiresAt?.toISOString() ?? null, parent: lineage };
      const { actor, details } = principalActor(by);
      // The prefix identifies the key in the trail; the key itself is never recorded.
      await this.audit.record({
        actor,
        action: 'api_key.create',
        target: `api_key:${id}`,
        details: { ...details, principalId, prefix: fresh.prefix, scopes, expiresAt: issued.expiresAt, parent: lineage },
      });
      return issued;
    });
  }

  async revokeApiKey(by: Principal, keyId: string): Promise<void> {
    await transaction(this.db, async () => {
      const revoked = await this.principals.revokeKey(keyId);
      if (revoked.length === 0) throw notFound(`api key ${keyId}`);
      // Row locks only: audit entries (an advisory lock a concurrent mint waits for too) come after.
      const descendants = await this.principals.revokeLineage({ keyId });
      const { actor, details } = principalActor(by);
      await this.recordRevocations(revoked, actor, details);
      await this.recordRevocations(descendants, actor, { ...details, cause: `api_key:${keyId} revoked` });
    });
    this.forgetCachedKeys();
  }

  /**
   * Revokes every key the login `loginId` minted, and every key minted from those, in the
   * transaction that ends the login (logout, or a reused refresh token), which it joins. Call
   * forgetCachedKeys() once it committed; other API processes see it within apiKeyCacheMs.
   */
  async revokeKeysOfLogin(loginId: string, actor: string, cause: string): Promise<void> {
    await transaction(this.db, async () => this.recordRevocations(await this.principals.revokeLineage({ loginId }), actor, { cause }));
  }

  private async recordRevocations(keys: RevokedKey[], actor: string, details: Record<string, unknown>): Promise<void> {
    for (const key of keys) {
      await this.audit.record({
        actor,
        action: 'api_key.revoke',
        target: `api_key:${key.id}`,
        details: { ...details, principalId: key.principal_id, prefix: key.prefix },
      });
    }
  }

  /** The credential minting a key, alive (else 401); `lock` as PrincipalsRepository.mintingParent says. */
  private async mintingParent(credential: MintingCredential, lock: boolean): Promise<MintingParent> {
    const row = await this.principals.mintingParent(credential, lock);
    if (!row) throw new Problem(401, 'Unauthorized', 'the credential this request was made with was revoked or has expired', { field: 'Authorization' });
    return { now: new Date(row.now), expiresAt: row.expires_at ? new Date(row.expires_at) : null, keyId: row.key_id ?? null, loginId: row.login_id ?? null };
  }

  private toPrincipalBase(row: { id: string; name: string; kind: PrincipalKind; slurm_user: string | null; chain_address?: string | null }) {
    return { id: row.id, name: row.name, kind: row.kind, slurmUser: row.slurm_user, chainAddress: row.chain_address ?? null };
  }

  private view(row: PrincipalRow): PrincipalView {
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      slurmUser: row.slurm_user,
      createdAt: new Date(row.created_at).toISOString(),
    };
  }
}

function expiryWithin(parent: MintingParent, lifetime: KeyLifetime): Date | null {
  const decision = keyExpiry(parent.now, lifetime, parent.expiresAt);
  if ('refused' in decision) throw invalid('expiresInSeconds', decision.refused);
  return decision.expiresAt;
}

function parentOf(parent: MintingParent): KeyParent {
  if (parent.keyId) return { type: 'api_key', id: parent.keyId };
  if (parent.loginId) return { type: 'login', id: parent.loginId };
  return null;
}
