import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { createDataSource, MIGRATIONS, runMigrations } from '../../src/adapters/postgres/data-source';
import { walletLogin } from '../../src/apps/cli/wallet-login-client';
import { ControlPlane } from '../support/control-plane';
import { freshDatabase } from '../support/postgres';
import { newWallet } from '../support/wallets';

/** Where the key-lineage migration sits: the database is brought up to just before it. */
const LINEAGE_AT = MIGRATIONS.findIndex((m) => m.name === 'ApiKeyLineage1765130000000');
const HOUR = 3600;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;
const CACHE_MS = 2000;

/**
 * Keys cannot outlive what made them, against the real API processes and PostgreSQL: a key minted
 * with a key or a wallet login expires no later than it, is revoked with it (through every
 * generation, on every API process within the key cache's lifetime), and dies with the login's
 * logout, not with its refresh.
 */
describe('API keys minted by keys and logins', { timeout: 180_000 }, () => {
  const cp = new ControlPlane('key_lineage', {
    islands: [{ name: 'local-a' }],
    redisDb: 5,
    env: { ARCHIPELAGO_API_KEY_CACHE_MS: String(CACHE_MS), ARCHIPELAGO_RATE_LIMITS: 'off' },
  });
  let alice: { id: string; key: string };

  const me = (key: string, api: Pick<ControlPlane, 'request'> = cp) => api.request('GET', '/v1/auth/me', key).then((r) => r.status);
  const mintOwn = (credential: string, body: Record<string, unknown>) => cp.request('POST', '/v1/auth/api-keys', credential, body);
  const issue = (by: string, principalId: string, body: Record<string, unknown>) => cp.request('POST', `/v1/principals/${principalId}/api-keys`, by, body);
  const created = <T extends { status: number; text: string }>(answer: T): T => {
    assert.equal(answer.status, 201, answer.text);
    return answer;
  };
  const refusedLifetime = (answer: { status: number; json: any; headers: Headers; text: string }) => {
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(answer.json.field, 'expiresInSeconds', answer.text);
    assert.match(answer.json.detail, /at most \d+ seconds/, answer.text);
  };

  before(async () => {
    await cp.start();
    alice = await cp.researcher('alice-keys', 'alice');
  });
  after(async () => {
    await cp.stop();
  });

  it('a 1-hour key cannot mint a 1-year key: longer lifetimes are refused, the default is cut to the parent, scopes stay within it', async () => {
    const hourKey = created(await issue(cp.adminKey, alice.id, { scopes: ['submit', 'read'], expiresInSeconds: HOUR })).json;
    const parentEnds = Date.parse(hourKey.expiresAt);
    assert.ok(Math.abs(parentEnds - (Date.now() + HOUR * 1000)) < 60_000, hourKey.expiresAt);

    refusedLifetime(await mintOwn(hourKey.key, { scopes: ['read'], expiresInSeconds: YEAR }));
    refusedLifetime(await mintOwn(hourKey.key, { scopes: ['read'], expiresInSeconds: HOUR + 120 }));

    const asked = created(await mintOwn(hourKey.key, { scopes: ['read'], expiresInSeconds: 600 })).json;
    assert.ok(Date.parse(asked.expiresAt) < parentEnds);
    assert.deepEqual(asked.parent, { type: 'api_key', id: hourKey.id });

    const defaulted = created(await mintOwn(hourKey.key, { scopes: ['read'] })).json;
    assert.equal(defaulted.expiresAt, hourKey.expiresAt, "the 30-day default is cut to the parent's hour");
    assert.equal(await me(defaulted.key), 200);
    refusedLifetime(await mintOwn(defaulted.key, { scopes: ['read'], expiresInSeconds: YEAR }));

    const beyond = await mintOwn(defaulted.key, { scopes: ['submit'] });
    assert.equal(beyond.status, 403, beyond.text);
    assert.equal(beyond.json.field, 'scopes');
  });

  it("an admin's temporary key bounds the keys it issues for others by its expiry, not by its revocation", async () => {
    const admin = created(await cp.request('POST', '/v1/principals', cp.adminKey, { name: 'temporary-admin', kind: 'platform_admin' })).json;
    const adminKey = created(await issue(cp.adminKey, admin.id, { scopes: ['admin'], expiresInSeconds: HOUR })).json;
    refusedLifetime(await issue(adminKey.key, alice.id, { scopes: ['read'], expiresInSeconds: YEAR }));
    const provisioned = created(await issue(adminKey.key, alice.id, { scopes: ['read'] })).json;
    assert.equal(provisioned.expiresAt, adminKey.expiresAt, '"no expiry" under a 1-hour admin key is that hour');
    assert.equal(provisioned.parent, null, "a key issued for another principal is not bound to the admin key's life");
    assert.equal((await cp.request('DELETE', `/v1/api-keys/${adminKey.id}`, cp.adminKey)).status, 204);
    assert.equal(await me(adminKey.key), 401);
    assert.equal(await me(provisioned.key), 200, "provisioning outlives the admin's key");
  });

  it('revoking a key revokes every generation it minted, at once here and within the cache lifetime on another API process', async () => {
    const base = created(await issue(cp.adminKey, alice.id, { scopes: ['submit', 'read'] })).json;
    const child = created(await mintOwn(base.key, { scopes: ['read'] })).json;
    const grandchild = created(await mintOwn(child.key, { scopes: ['read'] })).json;
    const sibling = created(await issue(cp.adminKey, alice.id, { scopes: ['read'] })).json;
    assert.equal(base.expiresAt, null);
    assert.ok(Math.abs(Date.parse(child.expiresAt) - (Date.now() + 30 * DAY * 1000)) < 60_000, 'a parent without expiry leaves the 30-day default as it is');
    const other = await cp.extraApi();
    for (const key of [child.key, grandchild.key, sibling.key]) {
      assert.equal(await me(key), 200);
      assert.equal(await me(key, other), 200, 'now cached on the other API process too');
    }

    assert.equal((await cp.request('DELETE', `/v1/api-keys/${base.id}`, cp.adminKey)).status, 204);
    const revokedAt = Date.now();
    assert.equal(await me(child.key), 401, 'the process that revoked answers at once');
    assert.equal(await me(grandchild.key), 401);
    for (const key of [child.key, grandchild.key]) {
      while ((await me(key, other)) !== 401) {
        assert.ok(Date.now() - revokedAt < CACHE_MS + 3000, `the other API process still accepts a revoked child ${Date.now() - revokedAt} ms later`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(await me(sibling.key), 200, 'a key outside the lineage lives on');
    assert.equal(await me(sibling.key, other), 200);

    const trail = await cp.request('GET', `/v1/audit?target=api_key:${grandchild.id}`, cp.adminKey);
    assert.deepEqual(
      trail.json.items.map((e: any) => [e.action, e.details.cause ?? null]),
      [
        ['api_key.create', null],
        ['api_key.revoke', `api_key:${base.id} revoked`],
      ],
      trail.text,
    );
    assert.equal((await cp.request('DELETE', `/v1/api-keys/${child.id}`, cp.adminKey)).status, 404, 'already revoked');
  });

  it('a key minted while its parent is being revoked does not outlive it', async () => {
    const parent = created(await issue(cp.adminKey, alice.id, { scopes: ['read'] })).json;
    assert.equal(await me(parent.key), 200);
    // Mints sent a few milliseconds apart, the revocation among them.
    const mints: Array<ReturnType<typeof mintOwn>> = [];
    let revoke: ReturnType<ControlPlane['request']> | undefined;
    for (let i = 0; i < 40; i++) {
      mints.push(mintOwn(parent.key, { scopes: ['read'] }));
      if (i === 15) revoke = cp.request('DELETE', `/v1/api-keys/${parent.id}`, cp.adminKey);
      await new Promise((r) => setTimeout(r, 10));
    }
    const answers = await Promise.all(mints);
    assert.equal((await revoke!).status, 204);
    for (const answer of answers) {
      assert.ok(answer.status === 201 || answer.status === 401, answer.text);
      if (answer.status === 201) assert.equal(await me(answer.json.key), 401, `${answer.json.id} survived its parent's revocation`);
    }
    const [alive] = await cp.sql('SELECT count(*)::int AS n FROM api_keys WHERE parent_key_id = $1 AND revoked_at IS NULL', [parent.id]);
    assert.equal(alive.n, 0);
  });

  it('logging out of a wallet login kills the keys it minted; refreshing the login does not', async () => {
    const wallet = await newWallet();
    assert.equal((await cp.request('PUT', `/v1/wallet-accounts/${wallet.address}`, cp.adminKey, { slurmUser: 'alice' })).status, 200);
    const session = await walletLogin(cp.url, wallet.amino);

    refusedLifetime(await mintOwn(session.sessionToken, { scopes: ['read'], expiresInSeconds: 30 * DAY }));
    const minted = created(await mintOwn(session.sessionToken, { scopes: ['read'] })).json;
    assert.equal(minted.expiresAt, session.refreshExpiresAt, 'no later than the login lives without a refresh');
    assert.equal(minted.parent.type, 'login');
    const grandchild = created(await mintOwn(minted.key, { scopes: ['read'] })).json;

    const refreshed = await cp.request('POST', '/v1/auth/refresh', null, { refreshToken: session.refreshToken });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(await me(minted.key), 200, 'a refresh rotates the tokens; the login, and its keys, live on');
    assert.equal(await me(grandchild.key), 200);
    assert.equal((await mintOwn(session.sessionToken, { scopes: ['read'] })).status, 401, 'the rotated session mints nothing');
    const mintedAfterRefresh = created(await mintOwn(refreshed.json.sessionToken, { scopes: ['read'] })).json;
    assert.equal(mintedAfterRefresh.parent.id, minted.parent.id, 'the same login');

    assert.equal((await cp.request('POST', '/v1/auth/logout', refreshed.json.sessionToken)).status, 204);
    for (const key of [minted, grandchild, mintedAfterRefresh]) assert.equal(await me(key.key), 401, `${key.id} ended with the login`);
    const trail = await cp.request('GET', `/v1/audit?target=api_key:${minted.id}&action=api_key.revoke`, cp.adminKey);
    assert.equal(trail.json.items[0]?.details.cause, 'logout', trail.text);
  });

  it('a reused refresh token ends the login and the keys it minted', async () => {
    const wallet = await newWallet();
    const session = await walletLogin(cp.url, wallet.amino);
    const minted = created(await mintOwn(session.sessionToken, { scopes: ['read'] })).json;
    assert.equal((await cp.request('POST', '/v1/auth/refresh', null, { refreshToken: session.refreshToken })).status, 200);
    const reused = await cp.request('POST', '/v1/auth/refresh', null, { refreshToken: session.refreshToken });
    assert.equal(reused.json?.reason, 'refresh_token_reused', reused.text);
    assert.equal(await me(minted.key), 401);
  });
});

/**
 * The migration that records parents links keys issued before it from the audit trail, cuts their
 * expiries and revokes those whose parent already ended.
 */
describe('migration: the lineage of keys issued before it', { timeout: 60_000 }, () => {
  let url: string;
  let db: DataSource;

  before(async () => {
    url = await freshDatabase('key_lineage_migration');
    db = new DataSource({ type: 'postgres', url, migrations: MIGRATIONS.slice(0, LINEAGE_AT), migrationsTableName: 'schema_migrations' });
    await db.initialize();
    await db.runMigrations({ transaction: 'each' });
  });
  after(async () => {
    await db?.destroy();
  });

  it('links own keys to the key or login that minted them, cuts expiries, and revokes keys whose parent ended', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await db.query(sql, params))[0];
    const principal = async (name: string, kind: string) =>
      (await one('INSERT INTO principals (name, kind) VALUES ($1, $2) RETURNING id', [name, kind])).id as string;
    const researcher = await principal('p-researcher', 'researcher');
    const admin = await principal('p-admin', 'platform_admin');
    const RANDOM_32 = "decode(md5(random()::text) || md5(random()::text), 'hex')";
    let seq = 0;
    /** A key as the old code issued it, with the audit entry naming the credential that minted it. */
    const key = async (owner: string, credential: string, expires: string | null, revoked = false) => {
      const { id } = await one(
        `INSERT INTO api_keys (principal_id, prefix, key_hash, scopes, expires_at, revoked_at)
         VALUES ($1, 'ak_test', ${RANDOM_32}, '{read}', now() + $2::interval, CASE WHEN $3 THEN now() END) RETURNING id`,
        [owner, expires, revoked],
      );
      seq++;
      await db.query(
        `INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash)
         VALUES ($1, now(), $2, 'api_key.create', $3, $4, ${RANDOM_32}, ${RANDOM_32})`,
        [seq, `principal:${owner}`, `api_key:${id}`, { credential, principalId: owner }],
      );
      return id as string;
    };
    const session = async (family: string, loggedOut: boolean) =>
      (
        await one(
          `INSERT INTO login_sessions (family_id, principal_id, token_hash, refresh_hash, expires_at, refresh_expires_at, revoked_at)
         VALUES ($1, $2, ${RANDOM_32}, ${RANDOM_32}, now() + interval '15 minutes', now() + interval '7 days', CASE WHEN $3 THEN now() END) RETURNING id`,
          [family, researcher, loggedOut],
        )
      ).id as string;
    const liveLogin = '00000000-0000-4000-8000-000000000001';
    const endedLogin = '00000000-0000-4000-8000-000000000002';

    const base = await key(researcher, 'bootstrap', null);
    const child = await key(researcher, base, '1 year');
    const hourKey = await key(researcher, 'bootstrap', '1 hour');
    const underHour = await key(researcher, hourKey, null);
    const underUnderHour = await key(researcher, underHour, '1 year');
    const fromLiveLogin = await key(researcher, `session:${await session(liveLogin, false)}`, '30 days');
    const fromEndedLogin = await key(researcher, `session:${await session(endedLogin, true)}`, '30 days');
    const underEndedLogin = await key(researcher, fromEndedLogin, null);
    const fromPurgedSession = await key(researcher, 'session:00000000-0000-4000-8000-0000000000ff', '30 days');
    const adminHourKey = await key(admin, 'bootstrap', '1 hour');
    const provisioned = await key(researcher, adminHourKey, null);
    const revokedParent = await key(researcher, 'bootstrap', null, true);
    const underRevoked = await key(researcher, revokedParent, null);

    const lineage = createDataSource(url, 2);
    await lineage.initialize();
    try {
      // The migration under test first, then the later ones (none of which touches keys).
      assert.deepEqual(
        await runMigrations(lineage),
        MIGRATIONS.slice(LINEAGE_AT).map((m) => m.name),
      );
    } finally {
      await lineage.destroy();
    }
    const state = async (id: string) =>
      one(
        `SELECT parent_key_id, parent_login_id, revoked_at IS NOT NULL AS revoked,
                (SELECT expires_at FROM api_keys h WHERE h.id = $2) AS hour_end, expires_at,
                (SELECT refresh_expires_at FROM login_sessions s WHERE s.family_id = k.parent_login_id) AS login_end
           FROM api_keys k WHERE id = $1`,
        [id, hourKey],
      );
    const sameTime = (a: Date | null, b: Date | null) => assert.equal(a && new Date(a).getTime(), b && new Date(b).getTime());

    assert.equal((await state(child)).parent_key_id, base);
    assert.equal((await state(child)).revoked, false);
    for (const id of [underHour, underUnderHour]) {
      const s = await state(id);
      sameTime(s.expires_at, s.hour_end);
    }
    assert.equal((await state(underUnderHour)).parent_key_id, underHour);
    const live = await state(fromLiveLogin);
    assert.equal(live.parent_login_id, liveLogin);
    assert.equal(live.revoked, false);
    sameTime(live.expires_at, live.login_end);
    for (const id of [fromEndedLogin, underEndedLogin, fromPurgedSession, underRevoked]) assert.equal((await state(id)).revoked, true, id);
    const byAdmin = await state(provisioned);
    assert.equal(byAdmin.parent_key_id, null, 'a key issued for another principal gets no parent');
    sameTime(byAdmin.expires_at, (await one('SELECT expires_at FROM api_keys WHERE id = $1', [adminHourKey])).expires_at);
    assert.equal(byAdmin.revoked, false);
  });
});
