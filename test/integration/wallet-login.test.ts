import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toBech32 } from '@cosmjs/encoding';
import { walletFromMnemonic, walletLogin } from '../../src/apps/cli/wallet-login-client';
import { adr36SignDoc } from '../../src/core/identity/wallet-signature';
import { ControlPlane } from '../support/control-plane';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { newWallet, TestWallet } from '../support/wallets';

/**
 * Wallet login against the real control plane (API process, PostgreSQL) with the chain double:
 * a real cosmjs wallet signs the challenge (ADR-036), and every refusal path answers 401 with a
 * reason; sessions refresh, rotate, detect a reused refresh token, and end on logout.
 */
describe('wallet login', { timeout: 120_000 }, () => {
  const chain = new FakeChain({ chainId: 'virtengine-test-1' });
  let cp: ControlPlane;
  let alice: TestWallet;

  const post = (path: string, body: unknown, key: string | null = null) => cp.request('POST', path, key, body);
  const challenge = async (address: string) => {
    const answer = await post('/v1/auth/challenge', { address });
    assert.equal(answer.status, 200, answer.text);
    return answer.json as { message: string; nonce: string; expiresAt: string; domain: string };
  };
  const login = (address: string, message: string, signature: unknown) => post('/v1/auth/login', { address, message, signature });
  const refused = (answer: { status: number; json: any; headers: Headers }, reason: string) => {
    assert.equal(answer.status, 401, JSON.stringify(answer.json));
    assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(answer.json.reason, reason, JSON.stringify(answer.json));
    assert.ok(answer.json.detail.length > 10);
  };

  before(async () => {
    await chain.start();
    cp = new ControlPlane('identity_login', {
      islands: [{ name: 'local-a' }],
      redisDb: 6,
      env: {
        CHAIN_RPC_URL: chain.url,
        CHAIN_ID: chain.chainId,
        ARCHIPELAGO_LOGIN_DOMAIN: 'archipelago.test',
        ARCHIPELAGO_SESSION_SECONDS: '60',
        ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE: '30',
      },
    });
    await cp.start();
    alice = await newWallet();
    const mapped = await cp.request('PUT', `/v1/wallet-accounts/${alice.address}`, cp.adminKey, { slurmUser: 'alice' });
    assert.equal(mapped.status, 200, mapped.text);
  });
  after(async () => {
    await cp?.stop();
    await chain.stop();
  });

  it('logs in with a cosmjs wallet: the challenge is bound to address, domain and expiry; the session authenticates', async () => {
    const c = await challenge(alice.address);
    assert.equal(c.domain, 'archipelago.test');
    assert.match(c.message, /^archipelago\.test wants you to sign in with your VirtEngine account:\nve1/);
    assert.ok(c.message.includes(`Nonce: ${c.nonce}`));
    assert.ok(new Date(c.expiresAt).getTime() - Date.now() <= 300_000);
    const answer = await login(alice.address, c.message, await alice.signArbitrary(c.message));
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.json.sessionToken, /^st_/);
    assert.match(answer.json.refreshToken, /^rt_/);
    assert.deepEqual(answer.json.principal.chainAddress, alice.address);
    const me = await cp.request('GET', '/v1/auth/me', answer.json.sessionToken);
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.kind, 'researcher');
    assert.equal(me.json.slurmUser, 'alice', 'the admin mapping gives the wallet its POSIX account');
    assert.deepEqual(me.json.scopes.sort(), ['read', 'submit']);
    const audited = await cp.request('GET', `/v1/audit?action=session.login&actor=principal:${answer.json.principal.id}`, cp.adminKey);
    assert.equal(audited.status, 200, audited.text);
    assert.ok(
      audited.json.items.some((e: any) => e.details?.address === alice.address),
      'the login is in the audit trail',
    );
    assert.ok(!audited.text.includes(answer.json.sessionToken), 'no token in the trail');
    // The transaction-signing (direct) wallet from the same mnemonic is the same account.
    assert.equal((await alice.direct.getAccounts())[0].address, alice.address);
  });

  it('the CLI helper logs in from a mnemonic, and the same wallet keeps its principal', async () => {
    const first = await walletLogin(cp.url, await walletFromMnemonic(alice.mnemonic));
    const second = await walletLogin(cp.url, await walletFromMnemonic(alice.mnemonic));
    assert.equal(first.principal.id, second.principal.id);
    assert.notEqual(first.sessionToken, second.sessionToken);
  });

  it('refuses a replayed signature (the challenge is single use)', async () => {
    const c = await challenge(alice.address);
    const signature = await alice.signArbitrary(c.message);
    assert.equal((await login(alice.address, c.message, signature)).status, 200);
    refused(await login(alice.address, c.message, signature), 'replayed_nonce');
  });

  it('refuses an expired challenge', async () => {
    const c = await challenge(alice.address);
    const signature = await alice.signArbitrary(c.message);
    await cp.sql("UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE nonce = $1", [c.nonce]);
    refused(await login(alice.address, c.message, signature), 'expired_nonce');
  });

  it('refuses a tampered message, even one the wallet really signed', async () => {
    const c = await challenge(alice.address);
    const tampered = c.message.replace(/Expiration Time: .*/, 'Expiration Time: 2099-01-01T00:00:00.000Z');
    refused(await login(alice.address, tampered, await alice.signArbitrary(tampered)), 'tampered_message');
  });

  it('refuses a signature made for another domain', async () => {
    const c = await challenge(alice.address);
    const foreign = c.message.replace(/^archipelago\.test /, 'evil.example ');
    refused(await login(alice.address, foreign, await alice.signArbitrary(foreign)), 'foreign_domain');
  });

  it('refuses a key that does not derive the address, and a signature by another key', async () => {
    const mallory = await newWallet();
    const c = await challenge(alice.address);
    // Mallory signs Alice's challenge with her own key and presents her own public key.
    const byMallory = await mallory.amino.signAmino(mallory.address, adr36SignDoc(alice.address, c.message));
    refused(await login(alice.address, c.message, byMallory.signature), 'key_not_address');
    // Alice's public key with Mallory's signature bytes.
    const c2 = await challenge(alice.address);
    const real = await alice.signArbitrary(c2.message);
    const forged = { pub_key: real.pub_key, signature: (await mallory.signArbitrary(c2.message)).signature };
    refused(await login(alice.address, c2.message, forged), 'bad_signature');
  });

  it('refuses an unknown nonce and a challenge issued to another address', async () => {
    const c = await challenge(alice.address);
    const unknown = c.message.replace(`Nonce: ${c.nonce}`, 'Nonce: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    refused(await login(alice.address, unknown, await alice.signArbitrary(unknown)), 'unknown_nonce');
    const bob = await newWallet();
    const forBob = await challenge(bob.address);
    refused(await login(alice.address, forBob.message, await alice.signArbitrary(forBob.message)), 'address_mismatch');
  });

  it('refuses malformed input with 400 problems naming the field', async () => {
    const cosmos = toBech32('cosmos', new Uint8Array(20));
    const wrongPrefix = await post('/v1/auth/challenge', { address: cosmos });
    assert.equal(wrongPrefix.status, 400);
    assert.equal(wrongPrefix.json.field, 'address');
    assert.match(wrongPrefix.json.detail, /ve1/);
    const badChecksum = await post('/v1/auth/challenge', { address: alice.address.slice(0, -1) + (alice.address.endsWith('q') ? 'p' : 'q') });
    assert.equal(badChecksum.status, 400);
    const noSignature = await post('/v1/auth/login', { address: alice.address, message: 'x' });
    assert.equal(noSignature.status, 400);
  });

  it('refresh rotates the tokens; a reused refresh token revokes the whole login', async () => {
    const c = await challenge(alice.address);
    const session = (await login(alice.address, c.message, await alice.signArbitrary(c.message))).json;
    const rotated = await post('/v1/auth/refresh', { refreshToken: session.refreshToken });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.json.sessionToken, session.sessionToken);
    assert.equal((await cp.request('GET', '/v1/auth/me', session.sessionToken)).status, 401, 'the old session ends when it is refreshed');
    assert.equal((await cp.request('GET', '/v1/auth/me', rotated.json.sessionToken)).status, 200);
    refused(await post('/v1/auth/refresh', { refreshToken: session.refreshToken }), 'refresh_token_reused');
    assert.equal((await cp.request('GET', '/v1/auth/me', rotated.json.sessionToken)).status, 401, 'reuse revokes the descendants too');
    refused(await post('/v1/auth/refresh', { refreshToken: rotated.json.refreshToken }), 'unknown_refresh_token');
  });

  it('an expired session is refused, and logout ends the session and its refresh token', async () => {
    const c = await challenge(alice.address);
    const session = (await login(alice.address, c.message, await alice.signArbitrary(c.message))).json;
    await cp.sql("UPDATE login_sessions SET expires_at = now() - interval '1 second' WHERE principal_id = $1 AND expires_at > now()", [session.principal.id]);
    assert.equal((await cp.request('GET', '/v1/auth/me', session.sessionToken)).status, 401);
    const again = (await post('/v1/auth/refresh', { refreshToken: session.refreshToken })).json;
    assert.ok(again.sessionToken, 'an expired session can still be refreshed while its refresh token lives');
    const out = await cp.request('POST', '/v1/auth/logout', again.sessionToken);
    assert.equal(out.status, 204, out.text);
    assert.equal((await cp.request('GET', '/v1/auth/me', again.sessionToken)).status, 401);
    refused(await post('/v1/auth/refresh', { refreshToken: again.refreshToken }), 'unknown_refresh_token');
  });

  it('a wallet without a POSIX mapping logs in but cannot run jobs; tenants stay apart', async () => {
    const carol = await newWallet();
    const session = await walletLogin(cp.url, carol.amino);
    assert.equal(session.principal.slurmUser, null);
    const submit = await cp.request('POST', '/v1/jobs', session.sessionToken, { script: '#!/bin/sh\ntrue\n' });
    assert.equal(submit.status, 403);
    assert.match(submit.json.detail, /no POSIX account/);
    const aliceSession = await walletLogin(cp.url, alice.amino);
    const list = await cp.request('GET', '/v1/jobs', session.sessionToken);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items, []);
    assert.notEqual(aliceSession.principal.id, session.principal.id);
  });

  it("a marketplace acts for a researcher only with that researcher's delegation, as the researcher, within both scopes", async () => {
    chain.setScore(alice.address, 80);
    const aliceToken = (await walletLogin(cp.url, alice.amino)).sessionToken;
    const aliceId = (await cp.request('GET', '/v1/auth/me', aliceToken)).json.id;
    const market = (await cp.request('POST', '/v1/principals', cp.adminKey, { name: 'identity-market', kind: 'marketplace' })).json;
    const marketKey = (await cp.request('POST', `/v1/principals/${market.id}/api-keys`, cp.adminKey, { scopes: ['submit', 'read'] })).json.key;
    const job = { script: '#!/bin/sh\ntrue\n', options: { hold: true } };
    const asAlice = { 'x-on-behalf-of': aliceId };

    const before = await cp.request('POST', '/v1/jobs', marketKey, job, asAlice);
    assert.equal(before.status, 403, 'no delegation yet');
    assert.equal(before.json.field, 'X-On-Behalf-Of');

    const readOnly = await post('/v1/delegations', { delegateId: market.id, scopes: ['read'] }, aliceToken);
    assert.equal(readOnly.status, 201, readOnly.text);
    const cannotSubmit = await cp.request('POST', '/v1/jobs', marketKey, job, asAlice);
    assert.equal(cannotSubmit.status, 403);
    assert.deepEqual(cannotSubmit.json.requiredScopes, ['submit']);

    const grant = await post('/v1/delegations', { delegateId: market.id, scopes: ['submit', 'read'], expiresInSeconds: 3600 }, aliceToken);
    assert.equal(grant.status, 201, grant.text);
    const submitted = await cp.request('POST', '/v1/jobs', marketKey, job, asAlice);
    assert.equal(submitted.status, 202, submitted.text);
    const seen = await cp.request('GET', `/v1/jobs/${submitted.json.id}`, aliceToken);
    assert.equal(seen.status, 200, "the job is the researcher's own");
    assert.equal((await cp.request('GET', `/v1/jobs/${submitted.json.id}`, marketKey)).status, 404, 'without the header the marketplace is itself');
    assert.equal((await cp.request('POST', '/v1/auth/api-keys', marketKey, { scopes: ['read'] }, asAlice)).status, 403, 'a delegation cannot mint keys');

    const bob = await walletLogin(cp.url, (await newWallet()).amino);
    const other = await cp.request('GET', '/v1/jobs', marketKey, undefined, { 'x-on-behalf-of': bob.principal.id });
    assert.equal(other.status, 403, 'another researcher did not delegate');
    const notMarket = await cp.request('GET', '/v1/jobs', bob.sessionToken, undefined, asAlice);
    assert.equal(notMarket.status, 403, 'only marketplace accounts act on behalf of others');
    assert.equal(
      (await post('/v1/delegations', { delegateId: bob.principal.id, scopes: ['read'] }, aliceToken)).status,
      400,
      'delegates are marketplace accounts',
    );
    assert.equal((await post('/v1/delegations', { delegateId: market.id, scopes: ['admin'] }, aliceToken)).status, 400);

    for (const id of [readOnly.json.id, grant.json.id]) assert.equal((await cp.request('DELETE', `/v1/delegations/${id}`, aliceToken)).status, 204);
    assert.equal((await cp.request('GET', '/v1/jobs', marketKey, undefined, asAlice)).status, 403, 'revoked at once');
    assert.equal((await cp.request('DELETE', `/v1/jobs/${submitted.json.id}`, aliceToken)).status, 202);
  });

  it('open challenges are capped per client, not per address (nobody can lock an address out)', async () => {
    await cp.sql('UPDATE login_challenges SET used_at = now() WHERE used_at IS NULL');
    const bob = await newWallet();
    for (let i = 0; i < 50; i++) await challenge(i % 2 ? alice.address : bob.address);
    const capped = await post('/v1/auth/challenge', { address: (await newWallet()).address });
    assert.equal(capped.status, 429, capped.text);
    assert.match(capped.json.detail, /50 challenges asked from here/);
    await cp.sql('UPDATE login_challenges SET used_at = now() WHERE used_at IS NULL');
    assert.equal((await post('/v1/auth/challenge', { address: alice.address })).status, 200);
  });

  it('each marketplace account has its own request budget per minute (429 with Retry-After); others are not limited', async () => {
    const account = async (name: string) => {
      const created = (await cp.request('POST', '/v1/principals', cp.adminKey, { name, kind: 'marketplace' })).json;
      return (await cp.request('POST', `/v1/principals/${created.id}/api-keys`, cp.adminKey, { scopes: ['read'] })).json.key as string;
    };
    const busy = await account('identity-market-busy');
    const quiet = await account('identity-market-quiet');
    // 61 requests cross at most one window boundary, so more than twice the limit must hit it.
    const answers = [];
    for (let i = 0; i < 61; i++) answers.push(await cp.request('GET', '/v1/delegations', busy));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 1, 'the limit was never applied');
    assert.ok(answers.filter((a) => a.status === 200).length <= 60);
    const retryAfter = Number(limited[0].headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(limited[0].json.title, 'Too many requests');
    assert.equal((await cp.request('GET', '/v1/delegations', quiet)).status, 200, 'another account has its own budget');
    const researcher = (await walletLogin(cp.url, alice.amino)).sessionToken;
    assert.equal((await cp.request('GET', '/v1/auth/me', researcher)).status, 200, 'researchers are not rate limited');
  });

  it("delegated calls (X-On-Behalf-Of) spend the marketplace's own budget, not nobody's", async () => {
    const created = (await cp.request('POST', '/v1/principals', cp.adminKey, { name: 'identity-market-delegated', kind: 'marketplace' })).json;
    const key = (await cp.request('POST', `/v1/principals/${created.id}/api-keys`, cp.adminKey, { scopes: ['read'] })).json.key as string;
    const aliceToken = (await walletLogin(cp.url, alice.amino)).sessionToken;
    const aliceId = (await cp.request('GET', '/v1/auth/me', aliceToken)).json.id;
    const grant = await post('/v1/delegations', { delegateId: created.id, scopes: ['read'] }, aliceToken);
    assert.equal(grant.status, 201, grant.text);
    const answers = [];
    // Budget 30/min: 61 delegated requests cross at most one window boundary, so they must hit it.
    for (let i = 0; i < 61; i++) answers.push(await cp.request('GET', '/v1/jobs', key, undefined, { 'x-on-behalf-of': aliceId }));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 1, `the budget was never applied to delegated calls: ${answers.map((a) => a.status).join(',')}`);
    assert.ok(answers.filter((a) => a.status === 200).length <= 60);
    assert.equal(limited[0].json.bucket, 'budget');
    assert.equal((await cp.request('GET', '/v1/jobs', aliceToken)).status, 200, "the researcher is not held to the marketplace's budget");
    assert.equal((await cp.request('DELETE', `/v1/delegations/${grant.json.id}`, aliceToken)).status, 204);
  });
});
