import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { walletLogin } from '../../src/apps/cli/wallet-login-client';
import { ControlPlane } from '../support/control-plane';
import { newWallet, TestWallet } from '../support/wallets';

/**
 * No chain configured: the development identity file stands in for x/veid and x/mfa, loudly
 * labelled, so the local stack works end to end; edits to the file apply without a restart.
 */
describe('development identity source (no CHAIN_RPC_URL)', { timeout: 120_000 }, () => {
  let dir: string;
  let file: string;
  let cp: ControlPlane;
  let dana: TestWallet;
  let token: string;
  const jobs: string[] = [];

  const write = (score: number) =>
    writeFileSync(
      file,
      JSON.stringify({
        accounts: { [dana.address]: { score, status: 'VERIFIED', slurmUser: 'alice' } },
        mfaRequired: { [dana.address]: { SENSITIVE_TX_API_KEY_GENERATION: [['TOTP']] } },
        mfaSessions: {
          'dev-mfa-1': { owner: dana.address, transactionType: 'SENSITIVE_TX_API_KEY_GENERATION', factors: ['TOTP'], expiresAt: '2099-01-01T00:00:00Z' },
        },
      }),
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'archipelago-dev-identity-'));
    file = join(dir, 'dev-identities.json');
    dana = await newWallet();
    write(72);
    cp = new ControlPlane('identity_dev', {
      islands: [{ name: 'local-a' }],
      redisDb: 6,
      env: { CHAIN_RPC_URL: '', ARCHIPELAGO_DEV_IDENTITY_FILE: file, ARCHIPELAGO_VEID_CACHE_MS: '0' },
    });
    await cp.start();
    token = (await walletLogin(cp.url, dana.amino)).sessionToken;
  });
  after(async () => {
    for (const id of jobs) await cp.request('DELETE', `/v1/jobs/${id}`, token).catch(() => undefined);
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns loudly at start that identities are not verified by the chain', () => {
    assert.match(cp.keptLogs(), /DEVELOPMENT IDENTITY SOURCE: CHAIN_RPC_URL is not set/);
    assert.ok(cp.keptLogs().includes(file));
  });

  it('the file gives the wallet its POSIX account and a score the VEID gate honours', async () => {
    const me = await cp.request('GET', '/v1/auth/me', token);
    assert.equal(me.json.slurmUser, 'alice');
    const wide = await cp.request('POST', '/v1/jobs', token, { script: '#!/bin/sh\ntrue\n', options: { hold: true, nodes: 2 } });
    assert.equal(wide.status, 202, wide.text);
    jobs.push(wide.json.id);
    write(40);
    const refused = await cp.request('POST', '/v1/jobs', token, { script: '#!/bin/sh\ntrue\n', options: { hold: true } });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.currentTier, 'unverified');
    assert.equal(refused.json.identitySource, 'development');
    write(72);
  });

  it('MFA requirements and sessions come from the file, consumed once', async () => {
    const none = await cp.request('POST', '/v1/auth/api-keys', token, { scopes: ['read'] });
    assert.equal(none.status, 403);
    assert.equal(none.json.mfa.reason, 'mfa_required');
    const ok = await cp.request('POST', '/v1/auth/api-keys', token, { scopes: ['read'] }, { 'x-mfa-session': 'dev-mfa-1' });
    assert.equal(ok.status, 201, ok.text);
    const again = await cp.request('POST', '/v1/auth/api-keys', token, { scopes: ['read'] }, { 'x-mfa-session': 'dev-mfa-1' });
    assert.equal(again.json.mfa.reason, 'consumed');
  });
});
