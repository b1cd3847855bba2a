import { Inject, Injectable } from '@nestjs/common';
import type { PrincipalKind } from '../../../core/auth/principal';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { Problem } from '../../../core/common/problem';
import { BUDGET, Bucket, Limit, limitFor } from '../../../core/ratelimit/rate-limit-policy';
import { RateLimiter, tooManyRequests, Verdict } from './rate-limiter';

const MAX_LOCKED_OUT = 100_000;

type FailureBucket = 'auth' | 'auth_address';

/** Applies the configured limits: counts a request and refuses it with a 429 once over. */
@Injectable()
export class RateLimits {
  /** Addresses (and credentials from an address) this process saw go over a failed-authentication limit, until their window ends. */
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
   * Runs one authentication `attempt` by `credential` (see credentialFamily) from `address`. It is
   * refused (429) before the credential is looked at when that credential from that address, or
   * anything from that address, failed too often in the current window: guessing stops at the
   * limit, and a right guess gets the same 429. A 401 it ends with is counted, and the failure that
   * goes over a limit is answered 429. The refusal is answered from memory, so the requests of
   * everyone else pay nothing for it: failures are counted in Redis across API processes, and each
   * process refuses from the failure it saw take the count over the limit (another process: from
   * its own next failure from there) until the window ends.
   */
  async authenticating<T>(address: string, credential: string, attempt: () => Promise<T>): Promise<T> {
    if (!this.config.rateLimits) return attempt();
    const subjects = failureSubjects(address, credential);
    for (const bucket of ['auth_address', 'auth'] as const) this.refuseWhileLocked(bucket, subjects[bucket]);
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof Problem && error.status === 401) await this.countFailure(subjects);
      throw error;
    }
  }

  private refuseWhileLocked(bucket: FailureBucket, subject: string): void {
    const key = `${bucket}:${subject}`;
    const lock = this.lockedOut.get(key);
    if (!lock) return;
    const left = lock.until - Date.now();
    if (left <= 0) {
      this.lockedOut.delete(key);
      return;
    }
    throw tooManyRequests(bucket, { ...lock.verdict, resetMs: left }, this.limitOf(bucket));
  }

  /** One failure, in both buckets at once; the address-wide lock wins when both go over. */
  private async countFailure(subjects: Record<FailureBucket, string>): Promise<void> {
    const buckets = ['auth_address', 'auth'] as const;
    const verdicts = await Promise.all(buckets.map((bucket) => this.limiter.hit(bucket, subjects[bucket], this.limitOf(bucket))));
    let refusal: Problem | null = null;
    buckets.forEach((bucket, i) => {
      const verdict = verdicts[i];
      if (!verdict || verdict.allowed) return;
      if (this.lockedOut.size >= MAX_LOCKED_OUT) this.forgetExpiredLocks();
      this.lockedOut.set(`${bucket}:${subjects[bucket]}`, { until: Date.now() + verdict.resetMs, verdict });
      refusal ??= tooManyRequests(bucket, verdict, this.limitOf(bucket));
    });
    if (refusal) throw refusal;
  }

  private limitOf(bucket: FailureBucket): Limit {
    return limitFor(this.config.rateLimits!, bucket, null);
  }

  /** Many addresses at once (a botnet): keep the live locks; past the bound, memory wins over refusing. */
  private forgetExpiredLocks(): void {
    const now = Date.now();
    for (const [subject, lock] of this.lockedOut) if (lock.until <= now) this.lockedOut.delete(subject);
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

/** Redis subjects of a failed authentication: the address with the credential, and the address alone. */
function failureSubjects(address: string, credential: string): Record<FailureBucket, string> {
  return { auth: `ip:${address}:${credential}`, auth_address: `ip:${address}` };
}
