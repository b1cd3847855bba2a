import { Inject, Injectable } from '@nestjs/common';
import type { PrincipalKind } from '../auth/principal';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BUDGET, Bucket, limitFor } from './rate-limit-policy';
import { RateLimiter, tooManyRequests, Verdict } from './rate-limiter';

/** Applies the configured limits: counts a request and refuses it with a 429 once over. */
@Injectable()
export class RateLimits {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  /** Null when limits are off or Redis did not answer (the request goes through). */
  async enforce(bucket: Bucket, subject: string, kind: PrincipalKind | null): Promise<Verdict | null> {
    if (!this.config.rateLimits) return null;
    const limit = limitFor(this.config.rateLimits, bucket, kind);
    const verdict = await this.limiter.hit(bucket, subject, limit);
    if (verdict && !verdict.allowed) throw tooManyRequests(bucket, verdict, limit);
    return verdict;
  }

  /**
   * Refuses (429) a source address that failed to authenticate too often in the current window,
   * before the credentials it sends now are looked at: guessing keys stops at the limit.
   */
  async refuseAfterFailedLogins(address: string): Promise<void> {
    if (!this.config.rateLimits) return;
    const limit = limitFor(this.config.rateLimits, 'auth', null);
    const verdict = await this.limiter.peek('auth', `ip:${address}`, limit);
    if (verdict && !verdict.allowed) throw tooManyRequests('auth', verdict, limit);
  }

  /** Counts a failed authentication from `address`. */
  async countFailedLogin(address: string): Promise<void> {
    if (!this.config.rateLimits) return;
    await this.limiter.hit('auth', `ip:${address}`, limitFor(this.config.rateLimits, 'auth', null));
  }

  /** The principal kind's overall budget, when it has one (null: none, off, or Redis did not answer). */
  async enforceBudget(subject: string, kind: PrincipalKind): Promise<Verdict | null> {
    const budget = this.config.rateLimits?.budgets[kind];
    if (!budget) return null;
    const verdict = await this.limiter.hit(BUDGET, subject, budget);
    if (verdict && !verdict.allowed) throw tooManyRequests(BUDGET, verdict, budget);
    return verdict;
  }
}
