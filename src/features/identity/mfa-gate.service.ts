import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { Problem } from '../../core/common/problem';
import { MfaConsumptionsRepository } from './mfa-consumptions.repository';
import { FactorType } from '../../adapters/chain/generated/virtengine';
import { IDENTITY_SOURCE, IdentitySource, IdentityUnavailableError } from '../../core/identity/identity-source';
import { ACTION_TRANSACTION_TYPE, describeCombinations, judgeSession, SensitiveAction, transactionTypeName } from '../../core/identity/mfa-rules';
import type { MfaProof } from '../../core/identity/mfa-proof';

/**
 * Step-up MFA for sensitive actions. The chain decides whether the caller needs MFA for the
 * action's SensitiveTransactionType (`/virtengine/mfa/v1/required/{addr}/{type}`) and holds the
 * caller's MFA sessions; this gate applies x/mfa's ante checks to the presented session (the
 * chain does not gate our actions itself) and records single-use sessions as consumed in
 * PostgreSQL, so one session authorizes one action here.
 */
@Injectable()
export class MfaGate {
  constructor(
    @Inject(IDENTITY_SOURCE) private readonly source: IdentitySource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly consumptions: MfaConsumptionsRepository,
  ) {}

  /**
   * `subject` names what the action is done to when retrying it is idempotent (e.g. an
   * Idempotency-Key and request hash): the same single-use session may then authorize the retry.
   */
  async require(
    principal: { id: string; chainAddress: string | null },
    action: SensitiveAction,
    proof: MfaProof,
    subject: string | null = null,
  ): Promise<void> {
    const settings = this.config.identity.mfa;
    if (!settings.actions.has(action)) return;
    const type = ACTION_TRANSACTION_TYPE[action];
    const typeName = transactionTypeName(type);
    const address = principal.chainAddress;
    if (!address) {
      if (settings.unlinked === 'exempt') return;
      throw refused('mfa_required', `${action} needs step-up MFA, which needs a VirtEngine account; log in with your wallet`, typeName);
    }
    try {
      const requirement = await this.source.mfaRequired(address, type);
      if (!requirement.required) return;
      if (!proof.sessionId) {
        throw new Problem(
          403,
          'Step-up authentication required',
          `${action} needs an MFA session for ${typeName} (factors: ${describeCombinations(requirement.factorCombinations)}); verify an MFA challenge on VirtEngine and send its session id in X-MFA-Session`,
          {
            field: 'X-MFA-Session',
            mfa: { reason: 'mfa_required', transactionType: typeName, factorCombinations: describeCombinations(requirement.factorCombinations) },
          },
        );
      }
      const session = await this.source.mfaSession(proof.sessionId);
      const trusted = proof.deviceFingerprint && proof.trustToken ? await this.source.trustedDevice(address, proof.deviceFingerprint, proof.trustToken) : false;
      const verdict = judgeSession({
        session,
        owner: address,
        target: type,
        requirement,
        nowSeconds: Math.floor(Date.now() / 1000),
        presentedDevice: proof.deviceFingerprint,
        trustedDevice: trusted,
      });
      if (!verdict.ok) throw refused(verdict.reason, verdict.detail, typeName);
      if (requirement.minVeidScore > 0 && verdict.combination.includes(FactorType.FACTOR_TYPE_VEID)) {
        const score = await this.source.score(address);
        if (!score || score.status !== 'VERIFIED' || score.score < requirement.minVeidScore) {
          throw refused('insufficient_factors', `the VEID factor needs a verified score of at least ${requirement.minVeidScore}`, typeName);
        }
      }
      if (session.isSingleUse) await this.consume(proof.sessionId, principal.id, action, subject, typeName);
    } catch (error) {
      if (error instanceof IdentityUnavailableError) {
        throw new Problem(
          503,
          'Service unavailable',
          `MFA checks need the VirtEngine chain, which cannot be reached right now; ${action} fails closed until it is back`,
          {
            identitySource: this.source.kind,
          },
        );
      }
      throw error;
    }
  }

  private async consume(sessionId: string, principalId: string, action: SensitiveAction, subject: string | null, typeName: string): Promise<void> {
    if (!(await this.consumptions.consume(sessionId, principalId, action, subject)))
      throw refused('consumed', 'this single-use MFA session was already used for an action here; verify a new challenge', typeName);
  }
}

function refused(reason: string, detail: string, transactionType: string): Problem {
  return new Problem(403, 'Step-up authentication refused', detail, { field: 'X-MFA-Session', mfa: { reason, transactionType } });
}
