import type { SensitiveAction } from './mfa-rules';
import type { MfaProof } from './mfa-proof';
import type { GatedAction } from './veid-policy';

/** Step-up MFA for a sensitive action: resolves when the presented proof satisfies the caller's policy, else throws a problem. */
export interface StepUpGate {
  require(principal: { id: string; chainAddress: string | null }, action: SensitiveAction, proof: MfaProof, subject?: string | null): Promise<void>;
}

export const STEP_UP_GATE = Symbol('STEP_UP_GATE');

/** The VEID gate: resolves when the caller's chain identity reaches the tier the policy asks for the actions. */
export interface IdentityTierGate {
  require(principal: { chainAddress: string | null; name: string }, actions: GatedAction[], partitions?: string[]): Promise<void>;
  requireForPrincipal(principalId: string, actions: GatedAction[]): Promise<void>;
}

export const IDENTITY_TIER_GATE = Symbol('IDENTITY_TIER_GATE');
