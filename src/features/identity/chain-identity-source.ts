import bcrypt from 'bcryptjs';
import { ChainQueries, ChainQueryError, ChainUnavailableError } from '../../adapters/chain/chain-port';
import { IdentitySource, IdentityUnavailableError } from '../../core/identity/identity-source';
import type { Requirement, SessionFacts } from '../../core/identity/mfa-rules';
import { ACCOUNT_STATUSES, AccountStatusName } from '../../core/identity/tiers';

/**
 * x/mfa's query server (GetAuthorizationSession, GetTrustedDevice) answers a missing entry with its
 * registered error, never with found: false; the text survives baseapp's re-wrapping.
 */
const SESSION_MISSING = /authorization session not found/;
const DEVICE_MISSING = /trusted device not found/;

/** Identity facts from x/veid and x/mfa over the shared chain client. */
export class ChainIdentitySource implements IdentitySource {
  readonly kind = 'chain' as const;

  constructor(private readonly chain: ChainQueries) {}

  async score(address: string) {
    const stored = await this.ask(() => this.chain.identityScore(address));
    if (!stored) return null;
    const status = stored.status.toUpperCase() as AccountStatusName;
    return { score: stored.score, status: ACCOUNT_STATUSES.includes(status) ? status : 'UNKNOWN' };
  }

  async mfaRequired(address: string, transactionType: number): Promise<Requirement> {
    const answer = await this.ask(() => this.chain.mfaRequired(address, transactionType as never));
    return { required: answer.required, factorCombinations: answer.factorCombinations.map((c) => c.factors), minVeidScore: answer.minVeidScore };
  }

  /**
   * The chain never fills `found` or `is_valid`: a session is found when the answer carries one,
   * and valid as x/mfa's AuthorizationSession.IsValid decides (not expired; a single-use session not used).
   */
  async mfaSession(sessionId: string): Promise<SessionFacts> {
    const answer = await this.ask(() => this.chain.mfaSession(sessionId), SESSION_MISSING);
    const s = answer?.session;
    const expiresAt = Number(s?.expiresAt ?? 0n);
    const usedAt = Number(s?.usedAt ?? 0n);
    return {
      found: s !== undefined,
      isValid: s !== undefined && expiresAt > Date.now() / 1000 && !(s.isSingleUse && usedAt > 0),
      accountAddress: s?.accountAddress ?? '',
      transactionType: s?.transactionType ?? 0,
      verifiedFactors: s?.verifiedFactors ?? [],
      expiresAt,
      usedAt,
      isSingleUse: s?.isSingleUse ?? false,
      deviceFingerprint: s?.deviceFingerprint ?? '',
    };
  }

  /** x/mfa's ValidateTrustToken: a known device, trust not expired, token matching the stored bcrypt hash. */
  async trustedDevice(address: string, fingerprint: string, trustToken: string): Promise<boolean> {
    const answer = await this.ask(() => this.chain.trustedDevice(address, fingerprint), DEVICE_MISSING);
    const info = answer?.device?.deviceInfo;
    if (!info || info.trustTokenHash === '') return false;
    const expiresAt = Number(info.trustExpiresAt);
    if (expiresAt > 0 && Date.now() / 1000 > expiresAt) return false;
    return bcrypt.compare(trustToken, info.trustTokenHash);
  }

  initialAccount(): null {
    return null;
  }

  /** The answer; null when the chain refuses with `missing` (its way of saying there is no such entry). */
  private async ask<T>(call: () => Promise<T>): Promise<T>;
  private async ask<T>(call: () => Promise<T>, missing: RegExp): Promise<T | null>;
  private async ask<T>(call: () => Promise<T>, missing?: RegExp): Promise<T | null> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw new IdentityUnavailableError(`the VirtEngine chain cannot be reached (${error.message})`);
      if (missing && error instanceof ChainQueryError && missing.test(error.message)) return null;
      throw error;
    }
  }
}
