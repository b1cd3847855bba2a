import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/adapters/config/config';
import { Problem, ProblemExtras } from '../../src/core/common/problem';
import { IdentitySource, IdentityUnavailableError } from '../../src/core/identity/identity-source';
import { identitySettings } from '../../src/adapters/config/identity-settings';
import { MfaGate } from '../../src/features/identity/mfa-gate.service';
import type { Requirement, SessionFacts } from '../../src/core/identity/mfa-rules';
import { VeidGate } from '../../src/features/identity/veid-gate.service';
import type { AccountStatusName } from '../../src/core/identity/tiers';
import { problemViolation } from '../support/hostile-input';

/** What a client would read: the problem as the filter sends it. */
const violation = (problem: Problem) =>
  problemViolation({ status: problem.status, contentType: 'application/problem+json', text: JSON.stringify(problem.toBody()) });

async function refusal(action: () => Promise<unknown>): Promise<Problem> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof Problem, `not a Problem: ${(error as Error)?.stack ?? error}`);
    return error;
  }
  assert.fail('the action was not refused');
}

describe('Problem: only valid problem+json can be built', () => {
  it('refuses a status that is not an HTTP error status', () => {
    for (const status of [null, undefined, 200, 302, 600, 403.5, Number.NaN, '403'] as unknown as number[]) {
      assert.throws(() => new Problem(status, 'Forbidden', 'no'), TypeError, String(status));
    }
    assert.equal(new Problem(403, 'Forbidden', 'no').toBody().status, 403);
  });

  it('refuses extensions that would replace type, title, status or detail', () => {
    for (const member of ['type', 'title', 'status', 'detail']) {
      // The type forbids these too; a cast (or plain JavaScript) meets the runtime check.
      assert.throws(() => new Problem(403, 'Forbidden', 'no', { [member]: null } as unknown as ProblemExtras), /may not replace/, member);
    }
    assert.throws(() => new Problem(403, '', 'no'), TypeError);
  });
});

/**
 * Every refusal the identity gates can give, driven through the real gates with a scripted
 * identity source: each must be valid problem+json (the VEID tier refusal once answered
 * `"status": null`, the account's VEID status in place of the HTTP one).
 */
describe('identity refusals are valid problems', () => {
  const ADDRESS = 've1rita';
  const config = {
    identity: identitySettings({
      ARCHIPELAGO_VEID_UNLINKED: 'deny',
      ARCHIPELAGO_MFA_UNLINKED: 'deny',
      ARCHIPELAGO_VEID_POLICY: 'submit=basic,submit_multi_node=standard',
    }),
  } as unknown as AppConfig;
  const session = (over: Partial<SessionFacts>): SessionFacts => ({
    found: true,
    isValid: true,
    accountAddress: ADDRESS,
    transactionType: 17,
    verifiedFactors: [1],
    expiresAt: 4_000_000_000,
    usedAt: 0,
    isSingleUse: false,
    deviceFingerprint: '',
    ...over,
  });
  const source = (facts: {
    score?: { score: number; status: AccountStatusName } | null | 'unavailable';
    requirement?: Requirement | 'unavailable';
    session?: SessionFacts;
  }): IdentitySource => ({
    kind: 'chain',
    score: async () => {
      if (facts.score === 'unavailable') throw new IdentityUnavailableError('chain down');
      return facts.score ?? null;
    },
    mfaRequired: async () => {
      if (facts.requirement === 'unavailable') throw new IdentityUnavailableError('chain down');
      return facts.requirement ?? { required: true, factorCombinations: [[1]], minVeidScore: 0 };
    },
    mfaSession: async () => facts.session ?? session({ found: false }),
    trustedDevice: async () => false,
    initialAccount: () => null,
  });
  const noDatabase = {} as never;
  const linked = { id: 'p1', name: 'rita', chainAddress: ADDRESS };
  const unlinked = { id: 'p2', name: 'apikey', chainAddress: null };
  const proof = (sessionId: string | null) => ({ sessionId, deviceFingerprint: null, trustToken: null });

  const veid = (facts: Parameters<typeof source>[0]) =>
    new VeidGate(source(facts), { ...config, identity: { ...config.identity, veid: { ...config.identity.veid, cacheMs: 0 } } }, noDatabase);
  const mfa = (facts: Parameters<typeof source>[0]) => new MfaGate(source(facts), config, noDatabase);

  const refusals: Array<[string, number, () => Promise<unknown>]> = [
    ['VEID: no chain address', 403, () => veid({}).require(unlinked, ['submit'])],
    ['VEID: no identity on chain (score and status null)', 403, () => veid({ score: null }).require(linked, ['submit'])],
    ['VEID: pending verification', 403, () => veid({ score: { score: 95, status: 'PENDING' } }).require(linked, ['submit'])],
    ['VEID: verified but below the tier', 403, () => veid({ score: { score: 55, status: 'VERIFIED' } }).require(linked, ['submit_multi_node'])],
    ['VEID: chain unreachable', 503, () => veid({ score: 'unavailable' }).require(linked, ['submit'])],
    ['MFA: no chain address', 403, () => mfa({}).require(unlinked, 'api_key_create', proof('s1'))],
    ['MFA: no session presented', 403, () => mfa({}).require(linked, 'api_key_create', proof(null))],
    ['MFA: unknown session', 403, () => mfa({}).require(linked, 'api_key_create', proof('s1'))],
    ["MFA: another owner's session", 403, () => mfa({ session: session({ accountAddress: 've1other' }) }).require(linked, 'api_key_create', proof('s1'))],
    ['MFA: expired session', 403, () => mfa({ session: session({ expiresAt: 1 }) }).require(linked, 'api_key_create', proof('s1'))],
    ['MFA: chain unreachable', 503, () => mfa({ requirement: 'unavailable' }).require(linked, 'api_key_create', proof('s1'))],
  ];
  for (const [what, status, action] of refusals) {
    it(what, async () => {
      const problem = await refusal(action);
      assert.equal(problem.status, status, problem.detail);
      assert.equal(violation(problem), null);
      assert.equal(problem.toBody().status, status);
    });
  }

  it('the tier refusal keeps the identity facts under their own names', async () => {
    const body = (await refusal(() => veid({ score: { score: 95, status: 'PENDING' } }).require(linked, ['submit']))).toBody();
    assert.equal(body.identityStatus, 'PENDING');
    assert.equal(body.score, 95);
    assert.equal(body.currentTier, 'unverified');
  });
});
