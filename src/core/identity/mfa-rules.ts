import { FactorType, SensitiveTransactionType } from '../chain/virtengine-enums';

/** Archipelago's sensitive actions. */
export const SENSITIVE_ACTIONS = ['api_key_create', 'join_token_create', 'mass_cancel', 'high_value_job'] as const;
export type SensitiveAction = (typeof SENSITIVE_ACTIONS)[number];

const T = SensitiveTransactionType;

/**
 * Each action as the chain's SensitiveTransactionType, so the caller's MFA policy and sessions on
 * chain apply to it (docs/security.md has the reasons for each choice).
 */
export const ACTION_TRANSACTION_TYPE: Record<SensitiveAction, SensitiveTransactionType> = {
  api_key_create: T.SENSITIVE_TX_API_KEY_GENERATION,
  join_token_create: T.SENSITIVE_TX_PROVIDER_REGISTRATION,
  mass_cancel: T.SENSITIVE_TX_HIGH_VALUE_ORDER,
  high_value_job: T.SENSITIVE_TX_HIGH_VALUE_ORDER,
};

export const transactionTypeName = (type: number): string =>
  Object.entries(SensitiveTransactionType).find(([, n]) => n === type)?.[0] ?? `SENSITIVE_TX_${type}`;

export const factorName = (factor: number): string =>
  Object.entries(FactorType)
    .find(([, n]) => n === factor)?.[0]
    .replace('FACTOR_TYPE_', '') ?? `FACTOR_${factor}`;

/** x/mfa types/sensitive_tx.go: categories and risk levels, for CanAuthorize. */
const CATEGORY: Partial<Record<number, number>> = {
  [T.SENSITIVE_TX_ACCOUNT_RECOVERY]: 1,
  [T.SENSITIVE_TX_KEY_ROTATION]: 1,
  [T.SENSITIVE_TX_ACCOUNT_DELETION]: 1,
  [T.SENSITIVE_TX_TWO_FACTOR_DISABLE]: 1,
  [T.SENSITIVE_TX_PRIMARY_EMAIL_CHANGE]: 1,
  [T.SENSITIVE_TX_PHONE_NUMBER_CHANGE]: 1,
  [T.SENSITIVE_TX_ROLE_ASSIGNMENT]: 2,
  [T.SENSITIVE_TX_PROVIDER_REGISTRATION]: 3,
  [T.SENSITIVE_TX_FIRST_OFFERING_CREATE]: 3,
  [T.SENSITIVE_TX_VALIDATOR_REGISTRATION]: 4,
  [T.SENSITIVE_TX_HIGH_VALUE_ORDER]: 5,
  [T.SENSITIVE_TX_GOVERNANCE_PROPOSAL]: 6,
  [T.SENSITIVE_TX_GOVERNANCE_VOTE]: 6,
  [T.SENSITIVE_TX_LARGE_WITHDRAWAL]: 7,
  [T.SENSITIVE_TX_MEDIUM_WITHDRAWAL]: 7,
  [T.SENSITIVE_TX_TRANSFER_TO_NEW_ADDRESS]: 7,
  [T.SENSITIVE_TX_API_KEY_GENERATION]: 8,
  [T.SENSITIVE_TX_WEBHOOK_CONFIGURATION]: 8,
};

function riskLevel(type: number): number {
  switch (type) {
    case T.SENSITIVE_TX_ACCOUNT_RECOVERY:
    case T.SENSITIVE_TX_KEY_ROTATION:
    case T.SENSITIVE_TX_ACCOUNT_DELETION:
    case T.SENSITIVE_TX_TWO_FACTOR_DISABLE:
      return 4;
    case T.SENSITIVE_TX_VALIDATOR_REGISTRATION:
    case T.SENSITIVE_TX_ROLE_ASSIGNMENT:
    case T.SENSITIVE_TX_LARGE_WITHDRAWAL:
    case T.SENSITIVE_TX_PRIMARY_EMAIL_CHANGE:
    case T.SENSITIVE_TX_PHONE_NUMBER_CHANGE:
      return 3;
    case T.SENSITIVE_TX_PROVIDER_REGISTRATION:
    case T.SENSITIVE_TX_GOVERNANCE_PROPOSAL:
    case T.SENSITIVE_TX_HIGH_VALUE_ORDER:
    case T.SENSITIVE_TX_GOVERNANCE_VOTE:
    case T.SENSITIVE_TX_FIRST_OFFERING_CREATE:
    case T.SENSITIVE_TX_WEBHOOK_CONFIGURATION:
      return 2;
    default:
      return 1;
  }
}

/** A session for `granted` covers `target` if the same, or same category and at least as risky. */
export function canAuthorize(granted: number, target: number): boolean {
  if (granted === target) return true;
  const category = CATEGORY[granted];
  if (category === undefined || CATEGORY[target] === undefined || category !== CATEGORY[target]) return false;
  return riskLevel(granted) >= riskLevel(target);
}

export interface SessionFacts {
  found: boolean;
  /** The chain's own verdict (not expired, not used if single use). */
  isValid: boolean;
  accountAddress: string;
  transactionType: number;
  verifiedFactors: number[];
  expiresAt: number;
  usedAt: number;
  isSingleUse: boolean;
  deviceFingerprint: string;
}

export interface Requirement {
  required: boolean;
  factorCombinations: number[][];
  minVeidScore: number;
}

export type MfaRefusal =
  'mfa_required' | 'unknown_session' | 'wrong_owner' | 'wrong_transaction_type' | 'expired' | 'consumed' | 'device_mismatch' | 'insufficient_factors';

export type SessionVerdict = { ok: true; combination: number[] } | { ok: false; reason: MfaRefusal; detail: string };

/**
 * The checks x/mfa's ante handler makes on an MFAProof, applied to a session for one of our
 * actions: owner, transaction type (CanAuthorize), expiry, single use, device binding, and one of
 * the required factor combinations fully verified. A trusted device stands in for one missing
 * factor of a combination (never the only one).
 */
export function judgeSession(input: {
  session: SessionFacts;
  owner: string;
  target: number;
  requirement: Requirement;
  nowSeconds: number;
  presentedDevice: string | null;
  trustedDevice: boolean;
}): SessionVerdict {
  const { session, owner, target, requirement, nowSeconds, presentedDevice } = input;
  const name = transactionTypeName(target);
  if (!session.found) return { ok: false, reason: 'unknown_session', detail: 'the chain has no MFA session with this id' };
  if (session.accountAddress !== owner) return { ok: false, reason: 'wrong_owner', detail: 'the MFA session belongs to another account' };
  if (!canAuthorize(session.transactionType, target)) {
    return {
      ok: false,
      reason: 'wrong_transaction_type',
      detail: `the MFA session authorizes ${transactionTypeName(session.transactionType)}, which does not cover ${name}`,
    };
  }
  if (session.isSingleUse && session.usedAt > 0) return { ok: false, reason: 'consumed', detail: 'this single-use MFA session was already used on chain' };
  if (session.expiresAt <= nowSeconds || !session.isValid) {
    return { ok: false, reason: 'expired', detail: `the MFA session expired at ${new Date(session.expiresAt * 1000).toISOString()}; verify a new challenge` };
  }
  if (session.deviceFingerprint !== '' && session.deviceFingerprint !== presentedDevice) {
    return { ok: false, reason: 'device_mismatch', detail: 'the MFA session is bound to another device; send its fingerprint in X-MFA-Device' };
  }
  const verified = new Set(session.verifiedFactors);
  const combinations = requirement.factorCombinations.length > 0 ? requirement.factorCombinations : [[]];
  for (const combination of combinations) {
    const missing = combination.filter((f) => !verified.has(f)).length;
    const allowance = input.trustedDevice && combination.length > 1 ? 1 : 0;
    if (missing <= allowance && verified.size > 0) return { ok: true, combination };
  }
  return {
    ok: false,
    reason: 'insufficient_factors',
    detail: `verified factors ${[...verified].map(factorName).join('+') || 'none'} satisfy none of ${describeCombinations(requirement.factorCombinations)}`,
  };
}

export const describeCombinations = (combinations: number[][]): string =>
  combinations.map((c) => c.map(factorName).join('+')).join(' or ') || 'any verified factor';
