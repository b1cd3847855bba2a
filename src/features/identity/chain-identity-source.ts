import bcrypt from 'bcryptjs';
import { ChainQueries, ChainUnavailableError } from '../../adapters/chain/chain-client';
import { IdentitySource, IdentityUnavailableError } from '../../core/identity/identity-source';
import type { Requirement, SessionFacts } from '../../core/identity/mfa-rules';
import { ACCOUNT_STATUSES, AccountStatusName } from '../../core/identity/tiers';

/** Identity facts from x/veid and x/mfa over the shared chain client. */
export class ChainIdentitySource implements IdentitySource {
  readonly kind = 'chain' as const;

  constructor(private readonly chain: ChainQueries) {}

  async score(address: string) {
    const answer = await this.ask(() => this.chain.identityScore(address));
    if (!answer.found || !answer.score) return null;
    return { score: answer.score.score, status: (ACCOUNT_STATUSES[answer.score.status] ?? 'UNKNOWN') as AccountStatusName };
  }

  async mfaRequired(address: string, transactionType: number): Promise<Requirement> {
    const answer = await this.ask(() => this.chain.mfaRequired(address, transactionType as never));
    return { required: answer.required, factorCombinations: answer.factorCombinations.map((c) => c.factors), minVeidScore: answer.minVeidScore };
  }

  async mfaSession(sessionId: string): Promise<SessionFacts> {
    const answer = await this.ask(() => this.chain.mfaSession(sessionId));
    const s = answer.session;
    return {
      found: answer.found && s !== undefined,
      isValid: answer.isValid,
      accountAddress: s?.accountAddress ?? '',
      transactionType: s?.transactionType ?? 0,
      verifiedFactors: s?.verifiedFactors ?? [],
      expiresAt: Number(s?.expiresAt ?? 0n),
      usedAt: Number(s?.usedAt ?? 0n),
      isSingleUse: s?.isSingleUse ?? false,
      deviceFingerprint: s?.deviceFingerprint ?? '',
    };
  }

  /** x/mfa's ValidateTrustToken: a known device, trust not expired, token matching the stored bcrypt hash. */
  async trustedDevice(address: string, fingerprint: string, trustToken: string): Promise<boolean> {
    const answer = await this.ask(() => this.chain.trustedDevice(address, fingerprint));
    const info = answer.device?.deviceInfo;
    if (!answer.found || !info || info.trustTokenHash === '') return false;
    const expiresAt = Number(info.trustExpiresAt);
    if (expiresAt > 0 && Date.now() / 1000 > expiresAt) return false;
    return bcrypt.compare(trustToken, info.trustTokenHash);
  }

  initialAccount(): null {
    return null;
  }

  private async ask<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw new IdentityUnavailableError(`the VirtEngine chain cannot be reached (${error.message})`);
      throw error;
    }
  }
}
