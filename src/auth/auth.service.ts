import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { Problem, conflict, notFound } from '../common/problem';
import { AuditLog, principalActor } from '../audit/audit-log';
import { rows } from '../db/sql';
import { SlurmUserMapping, type IslandAccountReport } from '../clusters/slurm-user-mapping';
import { generateApiKey, hashApiKey, sameSecret } from './api-key';
import { hashSecret, isSessionToken, sessionScopes } from './session-token';
import { Principal, PrincipalKind, Scope } from './principal';

interface PrincipalRow {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurm_user: string | null;
  created_at: Date;
}

export interface PrincipalView {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurmUser: string | null;
  createdAt: string;
}

export interface IssuedApiKey {
  id: string;
  key: string;
  prefix: string;
  scopes: Scope[];
  expiresAt: string | null;
}

const BOOTSTRAP_NAME = 'bootstrap-admin';

@Injectable()
export class AuthService implements OnModuleInit {
  private bootstrapPrincipal: Principal | null = null;
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditLog,
    private readonly mapping: SlurmUserMapping,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.bootstrapAdminKey) return;
    const [row] = await this.db.query(
      `INSERT INTO principals (name, kind) VALUES ($1, 'platform_admin')
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id, name, kind, slurm_user, chain_address`,
      [BOOTSTRAP_NAME],
    );
    this.bootstrapPrincipal = {
      ...this.toPrincipalBase(row),
      scopes: new Set<Scope>(['admin', 'read']),
      credentialId: 'bootstrap',
    };
  }

  /** Resolves a presented API key or login session token; null when it is unknown, revoked or expired. */
  async authenticate(presented: string): Promise<Principal | null> {
    if (isSessionToken(presented)) return this.authenticateSession(presented);
    if (this.bootstrapPrincipal && sameSecret(presented, this.config.bootstrapAdminKey!)) {
      return this.bootstrapPrincipal;
    }
    const hash = hashApiKey(presented);
    const cacheKey = hash.toString('base64');
    const cached = this.cache.get(cacheKey);
    const now = Date.now();
    if (cached && cached.until > now) return cached.principal;
    const [row] = await this.db.query(
      `SELECT p.id, p.name, p.kind, p.slurm_user, p.chain_address, k.id AS key_id, k.scopes
         FROM api_keys k JOIN principals p ON p.id = k.principal_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND p.disabled_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [hash],
    );
    const principal: Principal | null = row
      ? { ...this.toPrincipalBase(row), scopes: new Set(row.scopes as Scope[]), credentialId: row.key_id }
      : null;
    if (this.config.apiKeyCacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, { principal, until: now + this.config.apiKeyCacheMs });
    }
    return principal;
  }

  /** Sessions are never cached: a logout or revocation takes effect on the next request. */
  private async authenticateSession(presented: string): Promise<Principal | null> {
    const [row] = await this.db.query(
      `SELECT p.id, p.name, p.kind, p.slurm_user, p.chain_address, s.id AS session_id
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
        WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.rotated_at IS NULL
          AND s.expires_at > now() AND p.disabled_at IS NULL`,
      [hashSecret(presented)],
    );
    if (!row) return null;
    return { ...this.toPrincipalBase(row), scopes: sessionScopes(row.kind), credentialId: `session:${row.session_id}` };
  }

  /** Creates a principal; its POSIX account is checked on every island first (see SlurmUserMapping). */
  async createPrincipal(by: Principal, name: string, kind: PrincipalKind, slurmUser: string | null): Promise<PrincipalView & { slurmUserOnIslands?: IslandAccountReport[] }> {
    const onIslands = slurmUser === null ? undefined : await this.mapping.check(slurmUser);
    const view = await this.db.transaction(async (m) => {
      const created: PrincipalRow[] = await m.query(
        `INSERT INTO principals (name, kind, slurm_user) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING RETURNING id, name, kind, slurm_user, created_at`,
        [name, kind, slurmUser],
      );
      if (created.length === 0) throw conflict(`a principal named "${name}" already exists`, 'name');
      const { actor, details } = principalActor(by);
      await this.audit.record({ actor, action: 'principal.create', target: `principal:${created[0].id}`, details: { ...details, name, kind, slurmUser } }, m);
      return this.view(created[0]);
    });
    return onIslands ? { ...view, slurmUserOnIslands: onIslands } : view;
  }

  async listPrincipals(): Promise<PrincipalView[]> {
    const all: PrincipalRow[] = await this.db.query(
      'SELECT id, name, kind, slurm_user, created_at FROM principals ORDER BY created_at, id',
    );
    return all.map((row) => this.view(row));
  }

  async issueApiKey(by: Principal, principalId: string, scopes: Scope[], expiresInSeconds: number | null): Promise<IssuedApiKey> {
    const [principal] = await this.db.query('SELECT kind FROM principals WHERE id = $1', [principalId]);
    if (!principal) throw notFound(`principal ${principalId}`);
    if (scopes.includes('admin') && principal.kind !== 'platform_admin') {
      throw new Problem(400, 'Invalid request', 'only platform admins can hold the admin scope', { field: 'scopes' });
    }
    if (scopes.includes('provider') && principal.kind !== 'provider_admin' && principal.kind !== 'platform_admin') {
      throw new Problem(400, 'Invalid request', 'only provider admins (and platform admins) can hold the provider scope', { field: 'scopes' });
    }
    const fresh = generateApiKey();
    return this.db.transaction(async (m) => {
      const [row] = await m.query(
        `INSERT INTO api_keys (principal_id, prefix, key_hash, scopes, expires_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(secs => $5::int) END)
         RETURNING id, expires_at`,
        [principalId, fresh.prefix, fresh.hash, scopes, expiresInSeconds],
      );
      const issued: IssuedApiKey = {
        id: row.id,
        key: fresh.key,
        prefix: fresh.prefix,
        scopes,
        expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
      };
      const { actor, details } = principalActor(by);
      // The prefix identifies the key in the trail; the key itself is never recorded.
      await this.audit.record(
        { actor, action: 'api_key.create', target: `api_key:${row.id}`, details: { ...details, principalId, prefix: fresh.prefix, scopes, expiresAt: issued.expiresAt } },
        m,
      );
      return issued;
    });
  }

  async revokeApiKey(by: Principal, keyId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const revoked = await rows<{ id: string; principal_id: string; prefix: string }>(
        m,
        'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id, principal_id, prefix',
        [keyId],
      );
      if (revoked.length === 0) throw notFound(`api key ${keyId}`);
      const { actor, details } = principalActor(by);
      await this.audit.record(
        { actor, action: 'api_key.revoke', target: `api_key:${keyId}`, details: { ...details, principalId: revoked[0].principal_id, prefix: revoked[0].prefix } },
        m,
      );
    });
    this.cache.clear();
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
