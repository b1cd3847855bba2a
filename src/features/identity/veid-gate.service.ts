import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { Problem } from '../../core/common/problem';
import { IDENTITY_SOURCE, IdentitySource, IdentityUnavailableError } from '../../core/identity/identity-source';
import { developmentScoreRemedy } from '../../core/identity/remedies';
import { atLeast, AccountStatusName, remedy, Tier, TIER_THRESHOLDS, tierOf } from '../../core/identity/tiers';
import { GatedAction, requiredTier } from '../../core/identity/veid-policy';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from '../../core/auth/principal-directory';

interface Standing {
  score: number | null;
  status: AccountStatusName | null;
  tier: Tier;
}

/**
 * The VEID gate: an action goes ahead only if the caller's chain identity reaches the tier the
 * policy asks for. Scores are cached briefly per address (identity changes slowly; the chain is
 * not asked on every request). When the identity source cannot be reached the action fails
 * closed with 503, unless the policy lists it as fail-open.
 */
@Injectable()
export class VeidGate {
  private readonly logger = new Logger(VeidGate.name);
  private readonly cache = new Map<string, { standing: Standing; until: number }>();

  constructor(
    @Inject(IDENTITY_SOURCE) private readonly source: IdentitySource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PRINCIPAL_DIRECTORY) private readonly principals: PrincipalDirectory,
  ) {}

  async require(principal: { chainAddress: string | null; name: string }, actions: GatedAction[], partitions: string[] = []): Promise<void> {
    const policy = this.config.identity.veid;
    const need = requiredTier(policy, actions, partitions);
    if (need.tier === 'unverified') return;
    if (!principal.chainAddress) {
      if (policy.unlinked === 'exempt') return;
      throw new Problem(
        403,
        'Identity required',
        `${need.because} needs a VEID-verified VirtEngine account; log in with your wallet (POST /v1/auth/challenge)`,
        {
          requiredTier: need.tier,
          currentTier: 'unverified',
        },
      );
    }
    let standing: Standing;
    try {
      standing = await this.standing(principal.chainAddress);
    } catch (error) {
      if (!(error instanceof IdentityUnavailableError)) throw error;
      if (actions.every((a) => policy.failOpen.has(a))) {
        this.logger.warn(`VEID check skipped (fail-open) for ${actions.join(', ')} by ${principal.chainAddress}: ${error.message}`);
        return;
      }
      throw new Problem(
        503,
        'Service unavailable',
        `identity checks need the VirtEngine chain, which cannot be reached right now; ${need.because} fails closed until it is back`,
        {
          identitySource: this.source.kind,
        },
      );
    }
    if (!atLeast(standing.tier, need.tier)) {
      throw new Problem(403, 'Identity tier too low', `${need.because} needs VEID tier ${need.tier}; ${principal.chainAddress} is ${standing.tier}`, {
        requiredTier: need.tier,
        currentTier: standing.tier,
        score: standing.score,
        identityStatus: standing.status,
        requiredBy: need.because,
        remedy:
          this.source.kind === 'development'
            ? developmentScoreRemedy(principal.chainAddress, TIER_THRESHOLDS[need.tier], this.config.identity.devIdentityFile)
            : remedy(need.tier, standing.score, standing.status),
        identitySource: this.source.kind,
      });
    }
  }

  /** The gate for a principal known only by id (a node joining with its provider's token). */
  async requireForPrincipal(principalId: string, actions: GatedAction[]): Promise<void> {
    const found = await this.principals.identity(principalId);
    await this.require({ name: found?.name ?? principalId, chainAddress: found?.chainAddress ?? null }, actions);
  }

  private async standing(address: string): Promise<Standing> {
    const cached = this.cache.get(address);
    if (cached && cached.until > Date.now()) return cached.standing;
    const found = await this.source.score(address);
    const standing: Standing = found
      ? { score: found.score, status: found.status, tier: tierOf(found.score, found.status) }
      : { score: null, status: null, tier: 'unverified' };
    const ttl = this.config.identity.veid.cacheMs;
    if (ttl > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(address, { standing, until: Date.now() + ttl });
    }
    return standing;
  }
}
