import { Global, Module } from '@nestjs/common';
import { RequestRateLimit } from './request-rate-limit';
import { RateLimiter } from './rate-limiter';
import { RateLimits } from './rate-limits';

/** API role: per-principal and per-address request limits, counted in Redis. */
@Global()
@Module({
  providers: [RateLimiter, RateLimits, RequestRateLimit],
  exports: [RateLimits, RequestRateLimit],
})
export class RateLimitModule {}
