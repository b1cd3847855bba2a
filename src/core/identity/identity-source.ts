import type { PrincipalKind } from '../auth/principal';
import type { AccountStatusName } from './tiers';
import type { Requirement, SessionFacts } from './mfa-rules';

/** The identity facts the gates need, from the chain or (development only) from a file. */
export interface IdentitySource {
  readonly kind: 'chain' | 'development';
  /** null: the address has no VEID identity. */
  score(address: string): Promise<{ score: number; status: AccountStatusName } | null>;
  mfaRequired(address: string, transactionType: number): Promise<Requirement>;
  mfaSession(sessionId: string): Promise<SessionFacts>;
  /** Whether `fingerprint` is a trusted device of `address` now and `trustToken` is its token. */
  trustedDevice(address: string, fingerprint: string, trustToken: string): Promise<boolean>;
  /**
   * The POSIX account and kind a wallet's principal starts with when no admin mapped it; the
   * chain knows nothing of POSIX accounts, so only the development file answers.
   */
  initialAccount(address: string): { slurmUser: string | null; kind: PrincipalKind } | null;
}

export const IDENTITY_SOURCE = Symbol('IDENTITY_SOURCE');

/** The source could not be asked; gates fail closed (503) unless configured otherwise. */
export class IdentityUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityUnavailableError';
  }
}
