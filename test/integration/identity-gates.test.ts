import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { JoinMessage, publicKeyToText, signMessage } from '../../src/core/nodes/agent-protocol';
import { AccountStatus, FactorType, SensitiveTransactionType } from '../../src/adapters/chain/generated/virtengine';
import { walletLogin } from '../../src/apps/cli/wallet-login-client';
import { ControlPlane } from '../support/control-plane';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { newWallet, TestWallet } from '../support/wallets';

const { FACTOR_TYPE_TOTP: TOTP, FACTOR_TYPE_FIDO2: FIDO2, FACTOR_TYPE_VEID: VEID, FACTOR_TYPE_EMAIL: EMAIL } = FactorType;
const TX = SensitiveTransactionType;

/**
 * The VEID gate and step-up MFA against the real control plane, with VEID scores and MFA state
 * set on the chain double: thresholds below and above, only VERIFIED counting, fail-closed 503
 * when the chain is down, and every MFA refusal (required, wrong owner, wrong type, expired,
 * consumed, device binding, factors) next to the satisfied case.
 */
describe('identity gates: VEID tiers and step-up MFA', { timeout: 180_000 }, () => {
  const chain = new FakeChain({ chainId: 'virtengine-test-1' });
  let cp: ControlPlane;
  let rita: TestWallet;
  let ritaToken: string;
  let sessionCounter = 0;
  const created: Array<{ id: string; token: string }> = [];

  const script = '#!/bin/sh\necho gated\n';
  const submit = async (token: string, options: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const answer = await cp.request('POST', '/v1/jobs', token, { script, options: { hold: true, ...options } }, headers);
    if (answer.status === 202) created.push({ id: answer.json.id, token });
    return answer;
  };
  const mfaSession = (owner: string, transactionType: number, verifiedFactors: number[], extra: Record<string, unknown> = {}) =>
    chain.setMfaSession({
      sessionId: `mfa-${++sessionCounter}`,
      accountAddress: owner,
      transactionType: transactionType as never,
      verifiedFactors: verifiedFactors as never,
      isSingleUse: true,
      ...extra,
    }).sessionId;
  const mfaRefused = (answer: { status: number; json: any }, reason: string) => {
    assert.equal(answer.status, 403, JSON.stringify(answer.json));
    assert.equal(answer.json.mfa?.reason, reason, JSON.stringify(answer.json));
    assert.equal(answer.json.field, 'X-MFA-Session');
  };
  const ownKey = (token: string, headers: Record<string, string> = {}) => cp.request('POST', '/v1/auth/api-keys', token, { scopes: ['read'] }, headers);

  before(async () => {
    await chain.start();
    cp = new ControlPlane('identity_gates', {
      islands: [{ name: 'local-a' }],
      redisDb: 7,
      env: {
        CHAIN_RPC_URL: chain.url,
        CHAIN_ID: chain.chainId,
        CHAIN_REQUEST_TIMEOUT_MS: '1000',
        ARCHIPELAGO_VEID_CACHE_MS: '0',
        ARCHIPELAGO_MFA_MASS_CANCEL_JOBS: '2',
        ARCHIPELAGO_MFA_HIGH_VALUE_NODE_HOURS: '100',
      },
    });
    await cp.start();
    rita = await newWallet();
    assert.equal((await cp.request('PUT', `/v1/wallet-accounts/${rita.address}`, cp.adminKey, { slurmUser: 'alice' })).status, 200);
    ritaToken = (await walletLogin(cp.url, rita.amino)).sessionToken;
  });
  after(async () => {
    for (const job of created) await cp.request('DELETE', `/v1/jobs/${job.id}`, job.token).catch(() => undefined);
    await cp?.stop();
    await chain.stop();
  });

  describe('VEID gate', () => {
    it('no identity on chain: submission refused with the required tier, the current one and the remedy', async () => {
      const answer = await submit(ritaToken);
      assert.equal(answer.status, 403, answer.text);
      assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(answer.json.title, 'Identity tier too low');
      // Valid problem+json: the numeric status, never the identity's (here: none, once a null).
      assert.equal(answer.json.status, 403);
      assert.equal(answer.json.identityStatus, null);
      assert.equal(answer.json.requiredTier, 'basic');
      assert.equal(answer.json.currentTier, 'unverified');
      assert.match(answer.json.remedy, /no VEID identity/);
      assert.match(answer.json.remedy, /at least 50/);
    });

    it('basic (score 55, VERIFIED): a one-node job passes; multi-node and GPU jobs need standard', async () => {
      chain.setScore(rita.address, 55);
      const accepted = await submit(ritaToken);
      assert.equal(accepted.status, 202);
      // The worker (which loads the gates too) dispatches it: the job reaches SLURM, held.
      const held = await cp.waitForJob(ritaToken, accepted.json.id, (job) => !['ACCEPTED', 'DISPATCHING'].includes(job.state), 30_000);
      assert.equal(held.hold, true);
      const wide = await submit(ritaToken, { nodes: 2 });
      assert.equal(wide.status, 403, wide.text);
      assert.equal(wide.json.requiredTier, 'standard');
      assert.equal(wide.json.currentTier, 'basic');
      assert.equal(wide.json.score, 55);
      assert.match(wide.json.requiredBy, /submit_multi_node/);
      assert.match(wide.json.remedy, /from 55 to at least 70/);
      const gpu = await submit(ritaToken, { gpus: 1 });
      assert.equal(gpu.status, 403, gpu.text);
      assert.match(gpu.json.requiredBy, /submit_gpu/);
    });

    it('exactly at the threshold passes; one below does not', async () => {
      chain.setScore(rita.address, 49);
      assert.equal((await submit(ritaToken)).status, 403);
      chain.setScore(rita.address, 50);
      assert.equal((await submit(ritaToken)).status, 202);
      chain.setScore(rita.address, 69);
      assert.equal((await submit(ritaToken, { nodes: 2 })).status, 403);
      chain.setScore(rita.address, 70);
      assert.equal((await submit(ritaToken, { nodes: 2 })).status, 202);
    });

    it('only VERIFIED counts: a high score still pending verification is unverified', async () => {
      chain.setScore(rita.address, 95, AccountStatus.ACCOUNT_STATUS_PENDING);
      const answer = await submit(ritaToken);
      assert.equal(answer.status, 403);
      assert.equal(answer.json.currentTier, 'unverified');
      assert.equal(answer.json.status, 403, 'the problem status, not the identity status');
      assert.equal(answer.json.identityStatus, 'PENDING');
      assert.match(answer.json.remedy, /only VERIFIED identities count/);
    });

    it("an API-key principal with no chain address keeps today's behaviour (policy: unlinked exempt)", async () => {
      const legacy = await cp.researcher('identity-legacy', 'alice');
      const answer = await submit(legacy.key);
      assert.equal(answer.status, 202, answer.text);
    });

    it('chain down: gated submissions fail closed with 503 that says so; back up, they pass', async () => {
      chain.setScore(rita.address, 80);
      await chain.down();
      try {
        const answer = await submit(ritaToken);
        assert.equal(answer.status, 503, answer.text);
        assert.match(answer.json.detail, /VirtEngine chain.*cannot be reached.*fails closed/);
        assert.equal(answer.json.identitySource, 'chain');
        const mfaDown = await ownKey(ritaToken);
        assert.equal(mfaDown.status, 503, 'MFA checks fail closed too');
        const notReady = await cp.request('GET', '/health/ready', null);
        assert.equal(notReady.status, 503, 'readiness names the chain when it is down');
        assert.match(notReady.text, /chain/);
      } finally {
        await chain.up();
      }
      assert.equal((await submit(ritaToken)).status, 202);
      const ready = await cp.request('GET', '/health/ready', null);
      assert.equal(ready.status, 200, ready.text);
      assert.match(ready.text, /"chain"/);
      // A node that will not serve x/hpc's job records (CHAIN_JOB_RECORDS_UNREADABLE=not-ready, the default).
      chain.refuseQueries('/store/hpc/', 'store queries are disabled here');
      try {
        const refused = await cp.request('GET', '/health/ready', null);
        assert.equal(refused.status, 503, refused.text);
        assert.match(refused.text, /"chain-job-records":\{"ok":false,"detail":"Query failed with \(1\): store queries are disabled here"/);
      } finally {
        chain.refuseQueries('/store/hpc/', null);
      }
      assert.equal((await cp.request('GET', '/health/ready', null)).status, 200);
    });

    it('a provider whose identity is below standard cannot join nodes; at standard the node joins', async () => {
      const prov = await newWallet();
      assert.equal((await cp.request('PUT', `/v1/wallet-accounts/${prov.address}`, cp.adminKey, { kind: 'provider_admin' })).status, 200);
      const provToken = (await walletLogin(cp.url, prov.amino)).sessionToken;
      chain.setMfaRequirement(prov.address, TX.SENSITIVE_TX_PROVIDER_REGISTRATION, {
        required: true,
        factorCombinations: [{ factors: [TOTP], minSecurityLevel: 0 }],
      });
      chain.setScore(prov.address, 60);
      const needsMfa = await cp.request('POST', '/v1/join-tokens', provToken, { maxUses: 2 });
      mfaRefused(needsMfa, 'mfa_required');
      const token = await cp.request(
        'POST',
        '/v1/join-tokens',
        provToken,
        { maxUses: 2 },
        { 'x-mfa-session': mfaSession(prov.address, TX.SENSITIVE_TX_PROVIDER_REGISTRATION, [TOTP]) },
      );
      assert.equal(token.status, 201, token.text);
      const join = async () => {
        const key: KeyObject = generateKeyPairSync('ed25519').privateKey;
        const nonce = (await cp.request('POST', '/v1/agent/join-challenge', null, { token: token.json.token })).json.nonce;
        const message: JoinMessage = {
          purpose: 'join',
          nonce,
          publicKey: publicKeyToText(createPublicKey(key)),
          inventory: { cpus: 2, memoryMb: 2048, gpus: [], features: [], performance: 'low' },
          tags: { region: 'eu-west' },
          probeAddress: '127.0.0.1:9',
          sentAt: Date.now(),
        };
        return cp.request('POST', '/v1/agent/join', null, { token: token.json.token, message, signature: signMessage(message, key) });
      };
      const low = await join();
      assert.equal(low.status, 403, low.text);
      assert.equal(low.json.requiredTier, 'standard');
      assert.match(low.json.requiredBy, /provider_join/);
      chain.setScore(prov.address, 75);
      const ok = await join();
      assert.equal(ok.status, 201, ok.text);
    });
  });

  describe('step-up MFA', () => {
    before(() => chain.setScore(rita.address, 80));

    it('API key creation needs an MFA session when the chain requires one, naming the factors', async () => {
      const answer = await ownKey(ritaToken);
      mfaRefused(answer, 'mfa_required');
      assert.equal(answer.json.title, 'Step-up authentication required');
      assert.equal(answer.json.mfa.transactionType, 'SENSITIVE_TX_API_KEY_GENERATION');
      assert.equal(answer.json.mfa.factorCombinations, 'FIDO2 or TOTP');
    });

    it('a satisfied session works once; the same single-use session is then consumed', async () => {
      const id = mfaSession(rita.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [TOTP]);
      const malformed = await cp.request('POST', '/v1/auth/api-keys', ritaToken, { scopes: [] }, { 'x-mfa-session': id });
      assert.equal(malformed.status, 400, 'a malformed request is refused before the session is consumed');
      const beyond = await cp.request('POST', '/v1/auth/api-keys', ritaToken, { scopes: ['admin'] }, { 'x-mfa-session': id });
      assert.equal(beyond.status, 403);
      assert.match(beyond.json.detail, /scopes you do not hold: admin/);
      const answer = await ownKey(ritaToken, { 'x-mfa-session': id });
      assert.equal(answer.status, 201, answer.text);
      assert.match(answer.json.key, /^ak_/);
      assert.deepEqual(answer.json.scopes, ['read']);
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': id }), 'consumed');
      const rows = await cp.sql('SELECT action FROM mfa_consumptions WHERE session_id = $1', [id]);
      assert.deepEqual(rows, [{ action: 'api_key_create' }]);
    });

    it('refuses a session of another account', async () => {
      const other = await newWallet();
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': mfaSession(other.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [TOTP]) }), 'wrong_owner');
    });

    it('refuses a session for a transaction type that does not cover the action', async () => {
      mfaRefused(
        await ownKey(ritaToken, { 'x-mfa-session': mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [FIDO2, VEID]) }),
        'wrong_transaction_type',
      );
    });

    it('refuses an expired session and an unknown one', async () => {
      const expired = mfaSession(rita.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [TOTP], { expiresAt: BigInt(Math.floor(Date.now() / 1000) - 5) });
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': expired }), 'expired');
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': 'no-such-session' }), 'unknown_session');
    });

    it('refuses a session already used on chain, and factors that satisfy no combination', async () => {
      const usedOnChain = mfaSession(rita.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [TOTP], { usedAt: 1n });
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': usedOnChain }), 'consumed');
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': mfaSession(rita.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [EMAIL]) }), 'insufficient_factors');
    });

    it('a device-bound session needs its device', async () => {
      const bound = mfaSession(rita.address, TX.SENSITIVE_TX_API_KEY_GENERATION, [FIDO2], { deviceFingerprint: 'laptop-1' });
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': bound }), 'device_mismatch');
      mfaRefused(await ownKey(ritaToken, { 'x-mfa-session': bound, 'x-mfa-device': 'phone-2' }), 'device_mismatch');
      assert.equal((await ownKey(ritaToken, { 'x-mfa-session': bound, 'x-mfa-device': 'laptop-1' })).status, 201);
    });

    it('high-value jobs need a HIGH_VALUE_ORDER session; a trusted device stands in for one factor; an idempotent retry reuses it', async () => {
      const big = { nodes: 1, time: 200 * 60 };
      mfaRefused(await submit(ritaToken, big), 'mfa_required');
      const fidoOnly = mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [FIDO2]);
      mfaRefused(await submit(ritaToken, big, { 'x-mfa-session': fidoOnly }), 'insufficient_factors');
      const trustToken = 'trusted-device-token-0123456789';
      chain.setTrustedDevice({
        accountAddress: rita.address,
        deviceInfo: {
          fingerprint: 'workstation',
          userAgent: 'cli',
          firstSeenAt: 0n,
          lastSeenAt: 0n,
          ipHash: '',
          trustExpiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600),
          trustTokenHash: bcrypt.hashSync(trustToken, 4),
        },
        addedAt: 0n,
        lastUsedAt: 0n,
      });
      const withWrongToken = mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [FIDO2]);
      mfaRefused(
        await submit(ritaToken, big, { 'x-mfa-session': withWrongToken, 'x-mfa-device': 'workstation', 'x-mfa-trust-token': 'guessed' }),
        'insufficient_factors',
      );
      const trusted = mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [FIDO2]);
      const headers = { 'x-mfa-session': trusted, 'x-mfa-device': 'workstation', 'x-mfa-trust-token': trustToken, 'idempotency-key': 'big-job-1' };
      const accepted = await submit(ritaToken, big, headers);
      assert.equal(accepted.status, 202, accepted.text);
      const retried = await submit(ritaToken, big, headers);
      assert.equal(retried.status, 202, retried.text);
      assert.equal(retried.json.id, accepted.json.id);
      assert.equal(retried.headers.get('idempotent-replayed'), 'true');
      mfaRefused(await submit(ritaToken, { ...big, 'job-name': 'another' }, { ...headers, 'idempotency-key': 'big-job-2' }), 'consumed');
    });

    it("the VEID factor of a combination needs the chain's minimum score", async () => {
      chain.setScore(rita.address, 65);
      const session = mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [VEID, FIDO2]);
      const answer = await submit(ritaToken, { nodes: 1, time: 200 * 60 }, { 'x-mfa-session': session });
      mfaRefused(answer, 'insufficient_factors');
      assert.match(answer.json.detail, /at least 70/);
      chain.setScore(rita.address, 80);
    });

    it('cancelling more jobs than the threshold at once needs MFA; each job reports its outcome', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await submit(ritaToken)).json.id);
      mfaRefused(await cp.request('POST', '/v1/jobs/cancel', ritaToken, { ids }), 'mfa_required');
      const session = mfaSession(rita.address, TX.SENSITIVE_TX_HIGH_VALUE_ORDER, [VEID, FIDO2]);
      const answer = await cp.request('POST', '/v1/jobs/cancel', ritaToken, { ids: [...ids, '999999999'] }, { 'x-mfa-session': session });
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(
        answer.json.items.slice(0, 3).map((i: any) => i.id),
        ids,
      );
      for (const item of answer.json.items.slice(0, 3)) assert.ok(['CANCELLED', 'DISPATCHING', 'PENDING'].includes(item.state), JSON.stringify(item));
      assert.equal(answer.json.items[3].status, 404);
      const few = await cp.request('POST', '/v1/jobs/cancel', ritaToken, { ids: ids.slice(0, 2) });
      assert.equal(few.status, 200, 'at or below the threshold no MFA is asked');
    });

    it('admins without a chain address keep issuing API keys (unlinked exempt), as before', async () => {
      const legacy = await cp.researcher('identity-legacy-2', 'alice');
      const key = await cp.request('POST', `/v1/principals/${legacy.id}/api-keys`, cp.adminKey, { scopes: ['read'] });
      assert.equal(key.status, 201, key.text);
    });
  });
});
