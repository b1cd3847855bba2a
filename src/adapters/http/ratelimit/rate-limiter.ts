import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { Problem } from '../../../core/common/problem';
import type { BUDGET, Bucket, Limit } from '../../../core/ratelimit/rate-limit-policy';

/**
 * Fixed window per key, counted in Redis by one Lua script (atomic: concurrent API processes share
 * the count and no request slips between the increment and the expiry). The window starts with
 * the first request of a subject and lasts `windowMs`.
 */
const FIXED_WINDOW = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** A limiter that cannot reach Redis lets requests through rather than take the API down with it. */
const REDIS_TIMEOUT_MS = 250;

export interface Verdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the window resets. */
  resetMs: number;
}

type Counter = Redis & { fixedWindow(key: string, windowMs: number): Promise<[number, number]> };

@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimiter.name);
  /** No connection at all when limits are off. */
  private readonly redis: Counter | null = null;
  private lastWarning = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.rateLimits) return;
    // Errors surface per command (and are logged in hit); the client keeps reconnecting meanwhile.
    // Auto-pipelining sends the counts of one event-loop turn in one write: one system call for a
    // burst of requests instead of one each.
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true }) as Counter;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('fixedWindow', { numberOfKeys: 1, lua: FIXED_WINDOW });
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }

  /** Counts one request of `subject` against `limit`; null when limits are off or Redis did not answer in time. */
  async hit(bucket: Bucket | typeof BUDGET, subject: string, limit: Limit): Promise<Verdict | null> {
    if (!this.redis) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const [count, ttl] = await Promise.race([
        this.redis.fixedWindow(`ratelimit:${bucket}:${subject}`, limit.windowMs),
        // The timeout is judged after the I/O that is ready: when the event loop itself was busy
        // past it, Redis's answer has arrived meanwhile and wins, and limits stay on.
        new Promise<never>((_, reject) => (timer = setTimeout(() => setImmediate(() => reject(new Error('timeout'))), REDIS_TIMEOUT_MS))),
      ]);
      return { allowed: count <= limit.requests, limit: limit.requests, remaining: Math.max(0, limit.requests - count), resetMs: Math.max(0, ttl) };
    } catch (error) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`rate limits not enforced: Redis did not answer (${(error as Error).message})`);
      }
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The 429 a refused request gets (the problem filter copies retryAfterSeconds into Retry-After). */
export function tooManyRequests(bucket: Bucket | typeof BUDGET, verdict: Verdict, limit: Limit): Problem {
  const retryAfterSeconds = Math.max(1, Math.ceil(verdict.resetMs / 1000));
  return new Problem(
    429,
    'Too many requests',
    `rate limit "${bucket}" exceeded: ${limit.requests} requests per ${limit.windowMs / 1000} s; retry in ${retryAfterSeconds} s`,
    { bucket, limit: limit.requests, windowSeconds: limit.windowMs / 1000, retryAfterSeconds },
  );
}
