import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { RateLimitInterceptor } from './rate-limit.interceptor';
import { RateLimiter } from './rate-limiter';
import { RateLimits } from './rate-limits';

/** API role: per-principal and per-address request limits, counted in Redis. */
@Global()
@Module({
  providers: [RateLimiter, RateLimits, { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor }],
  exports: [RateLimits],
})
export class RateLimitModule {}
