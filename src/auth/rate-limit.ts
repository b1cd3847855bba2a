import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

const WINDOW_MS = 60_000;

/**
 * Each marketplace account's own request budget per minute, counted in Redis so every API process
 * shares it (fixed one-minute windows). If Redis cannot be asked the request goes through: the
 * limit protects capacity, it is not an access control.
 */
@Injectable()
export class MarketplaceRateLimit implements OnApplicationShutdown {
  private readonly logger = new Logger(MarketplaceRateLimit.name);
  private readonly redis: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  }

  get limit(): number {
    return this.config.marketplaceRequestsPerMinute;
  }

  /** null when allowed; otherwise the seconds until the next window. */
  async take(principalId: string): Promise<number | null> {
    const limit = this.limit;
    if (limit === 0) return null;
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const key = `archipelago:rate:${principalId}:${window}`;
    try {
      const results = await this.redis.multi().incr(key).pexpire(key, WINDOW_MS * 2).exec();
      const count = Number(results?.[0]?.[1] ?? 0);
      if (count <= limit) return null;
      return Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    } catch (error) {
      this.logger.warn(`rate limit not applied (Redis: ${(error as Error).message})`);
      return null;
    }
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
