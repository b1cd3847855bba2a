import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Problem } from '../common/problem';
import type { BUDGET, Bucket, Limit } from './rate-limit-policy';

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

/** The count so far and the time left in the window, without counting. */
const PEEK = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return {count, redis.call('PTTL', KEYS[1])}
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

type Counter = Redis & {
  fixedWindow(key: string, windowMs: number): Promise<[number, number]>;
  peekWindow(key: string): Promise<[number, number]>;
};

@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimiter.name);
  /** No connection at all when limits are off. */
  private readonly redis: Counter | null = null;
  private lastWarning = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.rateLimits) return;
    // Errors surface per command (and are logged in hit); the client keeps reconnecting meanwhile.
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) as Counter;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('fixedWindow', { numberOfKeys: 1, lua: FIXED_WINDOW });
    this.redis.defineCommand('peekWindow', { numberOfKeys: 1, lua: PEEK });
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }

  /** Counts one request of `subject` against `limit`; null when limits are off or Redis did not answer in time. */
  hit(bucket: Bucket | typeof BUDGET, subject: string, limit: Limit): Promise<Verdict | null> {
    return this.ask(limit, (redis) => redis.fixedWindow(`ratelimit:${bucket}:${subject}`, limit.windowMs));
  }

  /** Where `subject` stands against `limit` without counting a request (allowed: not over it yet). */
  peek(bucket: Bucket, subject: string, limit: Limit): Promise<Verdict | null> {
    return this.ask(limit, (redis) => redis.peekWindow(`ratelimit:${bucket}:${subject}`), 1);
  }

  /** `headroom` 1: the verdict on the next request rather than on the one just counted. */
  private async ask(limit: Limit, command: (redis: Counter) => Promise<[number, number]>, headroom = 0): Promise<Verdict | null> {
    if (!this.redis) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const [counted, ttl] = await Promise.race([
        command(this.redis),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), REDIS_TIMEOUT_MS))),
      ]);
      const count = counted + headroom;
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
