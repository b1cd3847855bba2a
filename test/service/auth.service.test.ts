import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/adapters/config/config';
import type { SlurmUserMapping } from '../../src/adapters/slurm/slurm-user-mapping';
import type { AuditRecord, AuditTrail } from '../../src/core/audit/audit-trail';
import type { Principal, Scope } from '../../src/core/auth/principal';
import { Problem } from '../../src/core/common/problem';
import { AuthService } from '../../src/features/auth/auth.service';
import { InMemoryPrincipals } from '../support/fakes/principals';
import { FakeDatabase } from '../support/fakes/transactions';

const HOUR = 3600;
const YEAR = 365 * 24 * HOUR;

/** AuthService on in-memory principals and keys: the key-lineage rules of issue #13 without PostgreSQL. */
function setUp(options: { auditFails?: boolean; bootstrapAdminKey?: string } = {}) {
  const db = new FakeDatabase();
  const principals = new InMemoryPrincipals(db);
  const audit: AuditRecord[] = [];
  const trail: AuditTrail = {
    record: async (entry) => {
      if (options.auditFails) throw new Error('audit log unavailable');
      audit.push(entry);
    },
  };
  const config = { bootstrapAdminKey: options.bootstrapAdminKey ?? null, apiKeyCacheMs: 0 } as unknown as AppConfig;
  const mapping = { check: async () => [] } as unknown as SlurmUserMapping;
  const service = new AuthService(db.asDataSource(), principals.asRepository(), config, trail, mapping);
  return { db, principals, audit, service };
}

async function admin(principals: InMemoryPrincipals): Promise<Principal> {
  const row = await principals.ensureAdmin('root-admin');
  return {
    id: row.id,
    name: row.name,
    kind: 'platform_admin',
    slurmUser: null,
    scopes: new Set<Scope>(['admin', 'read']),
    credentialId: 'bootstrap',
    chainAddress: null,
  };
}

async function researcherWithKey(ctx: ReturnType<typeof setUp>, scopes: Scope[], seconds: number | null) {
  const created = await ctx.service.createPrincipal(await admin(ctx.principals), `rita-${scopes.join('-')}`, 'researcher', 'rita');
  const issued = await ctx.service.issueApiKey(await admin(ctx.principals), created.id, scopes, {
    requestedSeconds: seconds ?? undefined,
    defaultSeconds: null,
  });
  const as = await ctx.service.authenticate(issued.key);
  assert.ok(as, 'the issued key authenticates');
  return { issued, as };
}

const refusedField = (field: string) => (error: unknown) => error instanceof Problem && error.status === 400 && error.extras.field === field;

describe('AuthService (in-memory principals)', () => {
  it('the bootstrap key authenticates as the bootstrap admin, and nothing but that exact key does', async () => {
    const key = `adm_${'k'.repeat(40)}`;
    const ctx = setUp({ bootstrapAdminKey: key });
    await ctx.service.onModuleInit();
    const found = await ctx.service.authenticate(key);
    assert.equal(found?.credentialId, 'bootstrap');
    assert.ok(found?.scopes.has('admin'));
    for (const near of [`${key}x`, key.slice(0, -1), `${key.slice(0, -1)}K`, '']) assert.equal(await ctx.service.authenticate(near), null, near);
  });

  it('a 1-hour key cannot mint a 1-year key; without a lifetime the new key ends with its parent', async () => {
    const ctx = setUp();
    const { issued, as } = await researcherWithKey(ctx, ['submit', 'read'], HOUR);
    await assert.rejects(ctx.service.issueApiKey(as!, as!.id, ['read'], { requestedSeconds: YEAR, defaultSeconds: null }), refusedField('expiresInSeconds'));
    const child = await ctx.service.issueApiKey(as!, as!.id, ['read'], { defaultSeconds: 90 * 24 * HOUR });
    assert.equal(child.expiresAt, issued.expiresAt, 'cut to the parent');
    assert.deepEqual(child.parent, { type: 'api_key', id: issued.id });
  });

  it('a key grants at most the scopes of the key that mints it, and a delegation mints none', async () => {
    const ctx = setUp();
    const { as } = await researcherWithKey(ctx, ['read'], HOUR);
    await assert.rejects(ctx.service.issueApiKey(as!, as!.id, ['submit'], { defaultSeconds: null }), (e: unknown) => e instanceof Problem && e.status === 403);
    const delegated = { ...as!, credentialId: `delegation:d1:${as!.credentialId}` };
    await assert.rejects(
      ctx.service.issueApiKey(delegated, as!.id, ['read'], { defaultSeconds: null }),
      (e: unknown) => e instanceof Problem && e.status === 403,
    );
    assert.equal(ctx.principals.keys.length, 1, 'nothing minted');
  });

  it('revoking a key revokes every generation minted from it, each with its audit entry', async () => {
    const ctx = setUp();
    const { issued, as } = await researcherWithKey(ctx, ['submit', 'read'], null);
    const child = await ctx.service.issueApiKey(as!, as!.id, ['read'], { defaultSeconds: null });
    const childAs = (await ctx.service.authenticate(child.key))!;
    const grandchild = await ctx.service.issueApiKey(childAs, childAs.id, ['read'], { defaultSeconds: null });
    await ctx.service.revokeApiKey(await admin(ctx.principals), issued.id);
    for (const key of [issued.key, child.key, grandchild.key]) assert.equal(await ctx.service.authenticate(key), null);
    const revoked = ctx.audit.filter((e) => e.action === 'api_key.revoke').map((e) => e.target);
    assert.deepEqual(revoked.sort(), [`api_key:${issued.id}`, `api_key:${child.id}`, `api_key:${grandchild.id}`].sort());
  });

  it('a key whose audit entry cannot be written is not issued (one transaction)', async () => {
    const ctx = setUp();
    const created = await ctx.service.createPrincipal(await admin(ctx.principals), 'sam', 'researcher', 'sam');
    const failing = setUp({ auditFails: true });
    failing.principals.principals = ctx.principals.principals;
    await assert.rejects(failing.service.issueApiKey(await admin(failing.principals), created.id, ['read'], { defaultSeconds: null }), /audit log unavailable/);
    assert.equal(failing.principals.keys.length, 0);
    assert.ok(failing.db.transactions > 0);
  });

  it('a revoked or expired minting key mints nothing (401)', async () => {
    const ctx = setUp();
    const { issued, as } = await researcherWithKey(ctx, ['read'], HOUR);
    ctx.principals.now = new Date(ctx.principals.now.getTime() + 2 * HOUR * 1000);
    await assert.rejects(ctx.service.issueApiKey(as!, as!.id, ['read'], { defaultSeconds: null }), (e: unknown) => e instanceof Problem && e.status === 401);
    ctx.principals.now = new Date(ctx.principals.now.getTime() - 2 * HOUR * 1000);
    await ctx.service.revokeApiKey(await admin(ctx.principals), issued.id);
    await assert.rejects(ctx.service.issueApiKey(as!, as!.id, ['read'], { defaultSeconds: null }), (e: unknown) => e instanceof Problem && e.status === 401);
  });
});
