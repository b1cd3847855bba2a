import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { AuthenticatedRequest, SCOPES_KEY } from '../access';
import type { Scope } from '../../../core/auth/principal';
import { Bucket, bucketForScopes } from '../../../core/ratelimit/rate-limit-policy';
import { RateLimits } from './rate-limits';

const RATE_LIMIT_KEY = 'archipelago:rate-limit';

/** Counts the route's requests per source address in `bucket` (routes without a principal: agents). */
export const RateLimitPerAddress = (bucket: Bucket) => SetMetadata(RATE_LIMIT_KEY, bucket);

/**
 * Runs after the guards, so the caller is known: authenticated requests count per principal in
 * their scope's bucket; routes marked RateLimitPerAddress count per source address; anything else
 * (health, docs, metrics) is not limited. Answers carry RateLimit-Limit/Remaining/Reset.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly limits: RateLimits,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const perAddress = this.reflector.getAllAndOverride<Bucket | undefined>(RATE_LIMIT_KEY, targets);
    let verdict;
    if (perAddress) {
      verdict = await this.limits.enforce(perAddress, `ip:${request.ip}`, null);
    } else if (request.principal) {
      const bucket = bucketForScopes(this.reflector.getAllAndOverride<Scope[]>(SCOPES_KEY, targets));
      const subject = `principal:${request.principal.id}`;
      await this.limits.enforceBudget(subject, request.principal.kind);
      verdict = await this.limits.enforce(bucket, subject, request.principal.kind);
    }
    if (verdict) {
      context
        .switchToHttp()
        .getResponse<FastifyReply>()
        .header('RateLimit-Limit', String(verdict.limit))
        .header('RateLimit-Remaining', String(verdict.remaining))
        .header('RateLimit-Reset', String(Math.ceil(verdict.resetMs / 1000)));
    }
    return next.handle();
  }
}
