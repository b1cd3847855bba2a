import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/adapters/config/config';
import { identitySettings } from '../../src/adapters/config/identity-settings';
import { FactorType } from '../../src/core/chain/virtengine-enums';
import { Problem } from '../../src/core/common/problem';
import { IdentityUnavailableError, type IdentitySource } from '../../src/core/identity/identity-source';
import { ACTION_TRANSACTION_TYPE, type SessionFacts } from '../../src/core/identity/mfa-rules';
import type { MfaConsumptionsRepository } from '../../src/features/identity/mfa-consumptions.repository';
import { MfaGate } from '../../src/features/identity/mfa-gate.service';

const ADDRESS = 've1alicexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
const alice = { id: 'p-alice', chainAddress: ADDRESS };

/** The chain's MFA module as the gate reads it: one session, TOTP verified, single use. */
class FakeChainMfa implements IdentitySource {
  readonly kind = 'chain' as const;
  reachable = true;
  sessions = new Map<string, SessionFacts>();

  async score() {
    return null;
  }
  async mfaRequired() {
    if (!this.reachable) throw new IdentityUnavailableError('chain down');
    return { required: true, factorCombinations: [[FactorType.FACTOR_TYPE_TOTP]], minVeidScore: 0 };
  }
  async mfaSession(id: string): Promise<SessionFacts> {
    return (
      this.sessions.get(id) ?? {
        found: false,
        isValid: false,
        accountAddress: '',
        transactionType: 0,
        verifiedFactors: [],
        expiresAt: 0,
        usedAt: 0,
        isSingleUse: false,
        deviceFingerprint: '',
      }
    );
  }
  async trustedDevice() {
    return false;
  }
  initialAccount() {
    return null;
  }
}

/** mfa_consumptions in memory: the first action a session is spent on keeps it. */
class InMemoryConsumptions {
  spent = new Map<string, string>();
  async consume(sessionId: string, principalId: string, action: string, subject: string | null): Promise<boolean> {
    const what = `${principalId}|${action}|${subject}`;
    if (!this.spent.has(sessionId)) this.spent.set(sessionId, what);
    return this.spent.get(sessionId) === what;
  }
}

function setUp() {
  const chain = new FakeChainMfa();
  const consumptions = new InMemoryConsumptions();
  const config = { identity: identitySettings({ ARCHIPELAGO_MFA_ACTIONS: 'api_key_create,mass_cancel' }) } as unknown as AppConfig;
  const gate = new MfaGate(chain, config, consumptions as unknown as MfaConsumptionsRepository);
  const session = (id: string, facts: Partial<SessionFacts> = {}) =>
    chain.sessions.set(id, {
      found: true,
      isValid: true,
      accountAddress: ADDRESS,
      transactionType: ACTION_TRANSACTION_TYPE.api_key_create,
      verifiedFactors: [FactorType.FACTOR_TYPE_TOTP],
      expiresAt: Math.floor(Date.now() / 1000) + 300,
      usedAt: 0,
      isSingleUse: true,
      deviceFingerprint: '',
      ...facts,
    });
  return { chain, consumptions, gate, session };
}

const proof = (sessionId: string | null) => ({ sessionId, deviceFingerprint: null, trustToken: null });
const refusal = (status: number, reason?: string) => (e: unknown) =>
  e instanceof Problem && e.status === status && (reason === undefined || (e.extras.mfa as { reason: string }).reason === reason);

describe('MfaGate (fake chain MFA module, in-memory consumptions)', () => {
  it('asks for a session, then spends a single-use one on exactly one action', async () => {
    const { gate, session } = setUp();
    await assert.rejects(gate.require(alice, 'api_key_create', proof(null)), refusal(403, 'mfa_required'));
    session('s1');
    await gate.require(alice, 'api_key_create', proof('s1'), 'key-request-1');
    await gate.require(alice, 'api_key_create', proof('s1'), 'key-request-1'); // the same request retried
    await assert.rejects(gate.require(alice, 'api_key_create', proof('s1'), 'key-request-2'), refusal(403, 'consumed'));
  });

  it("refuses another account's session, an expired one, and one for another kind of action", async () => {
    const { gate, session } = setUp();
    session('theirs', { accountAddress: 've1mallory' });
    session('old', { expiresAt: Math.floor(Date.now() / 1000) - 1 });
    session('other', { transactionType: ACTION_TRANSACTION_TYPE.mass_cancel });
    await assert.rejects(gate.require(alice, 'api_key_create', proof('theirs')), refusal(403, 'wrong_owner'));
    await assert.rejects(gate.require(alice, 'api_key_create', proof('old')), refusal(403, 'expired'));
    await assert.rejects(gate.require(alice, 'api_key_create', proof('other')), refusal(403, 'wrong_transaction_type'));
    await assert.rejects(gate.require(alice, 'api_key_create', proof('unknown')), refusal(403, 'unknown_session'));
  });

  it('fails closed (503) when the chain cannot be asked, and leaves actions outside the policy alone', async () => {
    const { chain, gate } = setUp();
    chain.reachable = false;
    await assert.rejects(gate.require(alice, 'api_key_create', proof('s1')), refusal(503));
    await gate.require(alice, 'join_token_create', proof(null));
  });
});
