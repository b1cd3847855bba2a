import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FactorType, SensitiveTransactionType } from '../../src/adapters/chain/generated/virtengine';
import { jobGateFacts } from '../../src/core/identity/job-gate-facts';
import { ACTION_TRANSACTION_TYPE, canAuthorize, judgeSession, SessionFacts } from '../../src/core/identity/mfa-rules';
import { atLeast, remedy, tierOf } from '../../src/core/identity/tiers';
import { DEFAULT_VEID_POLICY, parseVeidPolicy, requiredTier, submissionActions } from '../../src/core/identity/veid-policy';
import { identitySettings } from '../../src/adapters/config/identity-settings';
import { parseDevIdentityFile } from '../../src/features/identity/dev-identity-source';
import { sessionScopes } from '../../src/core/auth/session-token';
import { ConfigError } from '../../src/adapters/config/config-error';

const T = SensitiveTransactionType;
const { FACTOR_TYPE_TOTP: TOTP, FACTOR_TYPE_FIDO2: FIDO2, FACTOR_TYPE_VEID: VEID, FACTOR_TYPE_EMAIL: EMAIL } = FactorType;

describe('VEID tiers (x/veid ComputeTierFromScoreValue)', () => {
  it('thresholds 50 / 70 / 85, inclusive', () => {
    assert.deepEqual(
      [0, 49, 50, 69, 70, 84, 85, 100].map((s) => tierOf(s, 'VERIFIED')),
      ['unverified', 'unverified', 'basic', 'basic', 'standard', 'standard', 'premium', 'premium'],
    );
  });
  it('nothing but VERIFIED grants a tier, whatever the score', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.constantFrom('UNKNOWN', 'PENDING', 'IN_PROGRESS', 'REJECTED', 'EXPIRED', 'NEEDS_ADDITIONAL_FACTOR' as const),
        (score, status) => tierOf(score, status) === 'unverified',
      ),
    );
  });
  it('tiers are ordered', () => {
    assert.ok(atLeast('premium', 'standard'));
    assert.ok(atLeast('basic', 'basic'));
    assert.ok(!atLeast('basic', 'standard'));
  });
  it('the remedy says what raises the tier from where the caller stands', () => {
    assert.match(remedy('standard', 55, 'VERIFIED'), /from 55 to at least 70/);
    assert.match(remedy('basic', null, null), /no VEID identity/);
    assert.match(remedy('premium', 90, 'EXPIRED'), /status is EXPIRED/);
  });
});

describe('VEID policy', () => {
  it('defaults: submit basic, multi-node / GPU / provider join standard', () => {
    assert.equal(requiredTier(DEFAULT_VEID_POLICY, ['submit']).tier, 'basic');
    assert.equal(requiredTier(DEFAULT_VEID_POLICY, submissionActions({ nodes: 4, gpus: false, partitions: [] })).tier, 'standard');
    assert.equal(requiredTier(DEFAULT_VEID_POLICY, submissionActions({ nodes: 1, gpus: true, partitions: [] })).because, 'action submit_gpu');
    assert.equal(requiredTier(DEFAULT_VEID_POLICY, ['provider_join']).tier, 'standard');
  });
  it('per action and per partition overrides; the strictest requirement wins and is named', () => {
    const policy = parseVeidPolicy('submit=standard,partition:gpu=premium,submit_gpu=basic', 'submit', 'deny');
    assert.equal(policy.actions.submit, 'standard');
    assert.equal(policy.actions.submit_gpu, 'basic');
    assert.deepEqual(requiredTier(policy, ['submit'], ['gpu']), { tier: 'premium', because: 'partition gpu' });
    assert.deepEqual(requiredTier(policy, ['submit'], ['batch']), { tier: 'standard', because: 'action submit' });
    assert.ok(policy.failOpen.has('submit'));
    assert.equal(policy.unlinked, 'deny');
  });
  it('refuses what it does not understand', () => {
    assert.throws(() => parseVeidPolicy('submit=gold', '', ''), /tiers/);
    assert.throws(() => parseVeidPolicy('launch=basic', '', ''), /unknown action/);
    assert.throws(() => parseVeidPolicy('', 'launch', ''), /fail-open/);
    assert.throws(() => parseVeidPolicy('', '', 'maybe'), /exempt/);
  });
  it('the settings name the variable at fault', () => {
    assert.throws(
      () => identitySettings({ ARCHIPELAGO_VEID_POLICY: 'submit=gold' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'ARCHIPELAGO_VEID_POLICY',
    );
    assert.throws(
      () => identitySettings({ ARCHIPELAGO_MFA_ACTIONS: 'launch' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'ARCHIPELAGO_MFA_ACTIONS',
    );
    assert.throws(
      () => identitySettings({ ARCHIPELAGO_LOGIN_DOMAIN: 'https://x' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'ARCHIPELAGO_LOGIN_DOMAIN',
    );
    assert.throws(
      () => identitySettings({ ARCHIPELAGO_DEV_IDENTITY_FILE: '/nonexistent/dev.json' }),
      (e: unknown) => e instanceof ConfigError,
    );
    assert.deepEqual([...identitySettings({ ARCHIPELAGO_MFA_ACTIONS: '' }).mfa.actions], []);
  });
});

describe('job gate facts', () => {
  it('reads nodes, GPUs, partitions and requested node-hours from a normalized spec', () => {
    assert.deepEqual(jobGateFacts({}), { nodes: 1, gpus: false, partitions: [], nodeHours: 1 });
    const facts = jobGateFacts({ nodes: { min: 4, max: 8 }, timeLimitMinutes: 90, gres: 'gpu:a100:2', partition: 'gpu,batch' });
    assert.deepEqual(facts, { nodes: 4, gpus: true, partitions: ['gpu', 'batch'], nodeHours: 6 });
    assert.equal(jobGateFacts({ gpusPerNode: '1' }).gpus, true);
    assert.equal(jobGateFacts({ gres: 'license:matlab:1' }).gpus, false);
    assert.equal(jobGateFacts({ timeLimitMinutes: null }).nodeHours, Infinity, 'an unlimited job is as costly as it gets');
    assert.equal(jobGateFacts({ timeLimitMinutes: 60, array: { expression: '0-9', taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } }).nodeHours, 10);
  });
});

describe('MFA rules (x/mfa CanAuthorize and the ante checks)', () => {
  it('each action maps to the chain type documented in docs/security.md', () => {
    assert.deepEqual(ACTION_TRANSACTION_TYPE, {
      api_key_create: T.SENSITIVE_TX_API_KEY_GENERATION,
      join_token_create: T.SENSITIVE_TX_PROVIDER_REGISTRATION,
      mass_cancel: T.SENSITIVE_TX_HIGH_VALUE_ORDER,
      high_value_job: T.SENSITIVE_TX_HIGH_VALUE_ORDER,
    });
  });
  it('a session covers its own type, and lower-risk types of the same category only', () => {
    assert.ok(canAuthorize(T.SENSITIVE_TX_HIGH_VALUE_ORDER, T.SENSITIVE_TX_HIGH_VALUE_ORDER));
    assert.ok(canAuthorize(T.SENSITIVE_TX_WEBHOOK_CONFIGURATION, T.SENSITIVE_TX_API_KEY_GENERATION), 'medium covers low in API management');
    assert.ok(!canAuthorize(T.SENSITIVE_TX_API_KEY_GENERATION, T.SENSITIVE_TX_WEBHOOK_CONFIGURATION), 'low does not cover medium');
    assert.ok(!canAuthorize(T.SENSITIVE_TX_HIGH_VALUE_ORDER, T.SENSITIVE_TX_API_KEY_GENERATION), 'never across categories');
    assert.ok(!canAuthorize(T.SENSITIVE_TX_UNSPECIFIED, T.SENSITIVE_TX_API_KEY_GENERATION));
    assert.ok(canAuthorize(T.SENSITIVE_TX_LARGE_WITHDRAWAL, T.SENSITIVE_TX_MEDIUM_WITHDRAWAL));
  });

  const now = 1_800_000_000;
  const session = (over: Partial<SessionFacts> = {}): SessionFacts => ({
    found: true,
    isValid: true,
    accountAddress: 've1owner',
    transactionType: T.SENSITIVE_TX_API_KEY_GENERATION,
    verifiedFactors: [TOTP],
    expiresAt: now + 60,
    usedAt: 0,
    isSingleUse: true,
    deviceFingerprint: '',
    ...over,
  });
  const judge = (s: SessionFacts, over: { combinations?: number[][]; device?: string | null; trusted?: boolean } = {}) =>
    judgeSession({
      session: s,
      owner: 've1owner',
      target: T.SENSITIVE_TX_API_KEY_GENERATION,
      nowSeconds: now,
      requirement: { required: true, factorCombinations: over.combinations ?? [[FIDO2], [TOTP]], minVeidScore: 0 },
      presentedDevice: over.device ?? null,
      trustedDevice: over.trusted ?? false,
    });
  const reason = (v: ReturnType<typeof judge>) => (v.ok ? 'ok' : v.reason);

  it('accepts a session with a full combination', () => assert.deepEqual(judge(session()), { ok: true, combination: [TOTP] }));
  it("refuses in the ante handler's order: found, owner, type, used, expiry, device, factors", () => {
    assert.equal(reason(judge(session({ found: false }))), 'unknown_session');
    assert.equal(reason(judge(session({ accountAddress: 've1other' }))), 'wrong_owner');
    assert.equal(reason(judge(session({ transactionType: T.SENSITIVE_TX_HIGH_VALUE_ORDER }))), 'wrong_transaction_type');
    assert.equal(reason(judge(session({ usedAt: now - 1 }))), 'consumed');
    assert.equal(reason(judge(session({ expiresAt: now }))), 'expired', 'expiry is exclusive');
    assert.equal(reason(judge(session({ isValid: false }))), 'expired', "the chain's own verdict counts");
    assert.equal(reason(judge(session({ deviceFingerprint: 'laptop' }))), 'device_mismatch');
    assert.equal(reason(judge(session({ deviceFingerprint: 'laptop' }), { device: 'laptop' })), 'ok');
    assert.equal(reason(judge(session({ verifiedFactors: [EMAIL] }))), 'insufficient_factors');
    assert.equal(reason(judge(session({ verifiedFactors: [] }), { combinations: [] })), 'insufficient_factors', 'a session verifies at least one factor');
  });
  it('a trusted device stands in for one missing factor of a combination, never for a whole one', () => {
    const fidoOnly = session({ verifiedFactors: [FIDO2] });
    assert.equal(reason(judge(fidoOnly, { combinations: [[VEID, FIDO2]] })), 'insufficient_factors');
    assert.equal(reason(judge(fidoOnly, { combinations: [[VEID, FIDO2]], trusted: true })), 'ok');
    assert.equal(reason(judge(session({ verifiedFactors: [EMAIL] }), { combinations: [[TOTP]], trusted: true })), 'insufficient_factors');
    assert.equal(reason(judge(session({ verifiedFactors: [EMAIL] }), { combinations: [[VEID, FIDO2, TOTP]], trusted: true })), 'insufficient_factors');
  });
  it('is monotone: verifying more factors never turns an accepted session into a refused one', () => {
    const factor = fc.constantFrom(TOTP, FIDO2, VEID, EMAIL);
    fc.assert(
      fc.property(
        fc.array(factor, { maxLength: 4 }),
        factor,
        fc.array(fc.array(factor, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        (verified, extra, combinations) => {
          const before = judge(session({ verifiedFactors: verified }), { combinations });
          const after = judge(session({ verifiedFactors: [...verified, extra] }), { combinations });
          return !before.ok || after.ok;
        },
      ),
    );
  });
});

describe('development identity file', () => {
  it('reads accounts, MFA requirements and sessions', () => {
    const file = parseDevIdentityFile(
      JSON.stringify({
        accounts: { ve1a: { score: 80, slurmUser: 'alice' } },
        mfaRequired: { ve1a: { SENSITIVE_TX_API_KEY_GENERATION: [['TOTP']] } },
        mfaSessions: { s1: { owner: 've1a', transactionType: 'SENSITIVE_TX_API_KEY_GENERATION', factors: ['TOTP'], expiresAt: '2099-01-01T00:00:00Z' } },
      }),
      'dev.json',
    );
    assert.equal(file.accounts.ve1a.score, 80);
  });
  it('names the entry at fault', () => {
    assert.throws(() => parseDevIdentityFile('{', 'dev.json'), /dev.json: not JSON/);
    assert.throws(() => parseDevIdentityFile('{"accounts":{"ve1a":{"score":101}}}', 'dev.json'), /accounts\.ve1a\.score/);
    assert.throws(() => parseDevIdentityFile('{"accounts":{"ve1a":{"status":"OK"}}}', 'dev.json'), /accounts\.ve1a\.status/);
    assert.throws(() => parseDevIdentityFile('{"mfaRequired":{"ve1a":{"SENSITIVE_TX_NOPE":[]}}}', 'dev.json'), /SENSITIVE_TX_NOPE/);
    assert.throws(
      () =>
        parseDevIdentityFile(
          '{"mfaSessions":{"s":{"owner":"ve1a","transactionType":"SENSITIVE_TX_API_KEY_GENERATION","factors":["PIN"],"expiresAt":"2099-01-01"}}}',
          'dev.json',
        ),
      /unknown factor PIN/,
    );
  });
});

describe('login session scopes', () => {
  it('follow the kind of principal the wallet is', () => {
    assert.deepEqual([...sessionScopes('researcher')].sort(), ['read', 'submit']);
    assert.deepEqual([...sessionScopes('provider_admin')].sort(), ['provider', 'read']);
    assert.deepEqual([...sessionScopes('marketplace')], ['read']);
  });
});
