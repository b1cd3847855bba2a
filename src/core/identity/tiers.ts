/**
 * VEID tiers as x/veid computes them (`ComputeTierFromScoreValue`): nothing counts unless the
 * account's status is VERIFIED; then basic ≥ 50, standard ≥ 70, premium ≥ 85 (of 100). The
 * chain's older table in types/identity.go disagrees and is ignored, as the chain's ante handler does.
 */
export const TIERS = ['unverified', 'basic', 'standard', 'premium'] as const;
export type Tier = (typeof TIERS)[number];

export const TIER_THRESHOLDS: Record<Exclude<Tier, 'unverified'>, number> = { basic: 50, standard: 70, premium: 85 };

/** AccountStatus names by their enum number (virtengine.veid.v1.AccountStatus). */
export const ACCOUNT_STATUSES = ['UNKNOWN', 'PENDING', 'IN_PROGRESS', 'VERIFIED', 'REJECTED', 'EXPIRED', 'NEEDS_ADDITIONAL_FACTOR'] as const;
export type AccountStatusName = (typeof ACCOUNT_STATUSES)[number];

export function tierOf(score: number, status: AccountStatusName): Tier {
  if (status !== 'VERIFIED') return 'unverified';
  if (score >= TIER_THRESHOLDS.premium) return 'premium';
  if (score >= TIER_THRESHOLDS.standard) return 'standard';
  if (score >= TIER_THRESHOLDS.basic) return 'basic';
  return 'unverified';
}

export const atLeast = (have: Tier, need: Tier): boolean => TIERS.indexOf(have) >= TIERS.indexOf(need);

/** What the chain asks for each tier (x/veid eligibility_enhanced.go), to tell a refused caller how to get there. */
const TIER_REQUIREMENTS: Record<Exclude<Tier, 'unverified'>, string> = {
  basic: 'an email proof (EMAIL_PROOF scope)',
  standard: 'email proof, selfie and ID document scopes plus an enrolled MFA factor',
  premium: 'the standard scopes plus a face video and an enrolled MFA factor',
};

/** One sentence on how to reach `need` from where the caller stands. */
export function remedy(need: Tier, score: number | null, status: AccountStatusName | null): string {
  if (need === 'unverified') return 'nothing is required';
  const target = TIER_THRESHOLDS[need];
  if (status === null)
    return `no VEID identity exists for this address: verify it on VirtEngine (x/veid) to a score of at least ${target} with ${TIER_REQUIREMENTS[need]}`;
  if (status !== 'VERIFIED') {
    return `the VEID status is ${status}; only VERIFIED identities count: finish verification on VirtEngine, reaching a score of at least ${target} with ${TIER_REQUIREMENTS[need]}`;
  }
  return `raise the VEID score from ${score} to at least ${target} by adding ${TIER_REQUIREMENTS[need]} on VirtEngine`;
}
