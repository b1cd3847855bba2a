import { Inject, Injectable } from '@nestjs/common';
import type { PrincipalKind } from '../auth/principal';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BUDGET, Bucket, limitFor } from './rate-limit-policy';
import { RateLimiter, tooManyRequests, Verdict } from './rate-limiter';

const MAX_LOCKED_OUT = 100_000;

/** Applies the configured limits: counts a request and refuses it with a 429 once over. */
@Injectable()
export class RateLimits {
  /** Addresses this process saw go over the failed-authentication limit, until their window ends. */
  private readonly lockedOut = new Map<string, { until: number; verdict: Verdict }>();

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
   * before the credentials it sends now are looked at: guessing keys stops at the limit. Answered
   * from memory, so the requests of everyone else pay nothing for it: the failures are counted in
   * Redis across API processes, and each process refuses the address from the failure it saw take
   * the count over the limit (another process: from its own next failure from there) until the
   * window ends.
   */
  refuseAfterFailedLogins(address: string): void {
    const lock = this.lockedOut.get(address);
    if (!lock || !this.config.rateLimits) return;
    const left = lock.until - Date.now();
    if (left <= 0) {
      this.lockedOut.delete(address);
      return;
    }
    throw tooManyRequests('auth', { ...lock.verdict, resetMs: left }, limitFor(this.config.rateLimits, 'auth', null));
  }

  /** Counts a failed authentication from `address`; the one that goes over the limit is answered 429. */
  async countFailedLogin(address: string): Promise<void> {
    if (!this.config.rateLimits) return;
    const limit = limitFor(this.config.rateLimits, 'auth', null);
    const verdict = await this.limiter.hit('auth', `ip:${address}`, limit);
    if (!verdict || verdict.allowed) return;
    if (this.lockedOut.size >= MAX_LOCKED_OUT) this.forgetExpiredLocks();
    this.lockedOut.set(address, { until: Date.now() + verdict.resetMs, verdict });
    throw tooManyRequests('auth', verdict, limit);
  }

  /** Many addresses at once (a botnet): keep the live locks; past the bound, memory wins over refusing. */
  private forgetExpiredLocks(): void {
    const now = Date.now();
    for (const [address, lock] of this.lockedOut) if (lock.until <= now) this.lockedOut.delete(address);
    if (this.lockedOut.size >= MAX_LOCKED_OUT) this.lockedOut.clear();
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
