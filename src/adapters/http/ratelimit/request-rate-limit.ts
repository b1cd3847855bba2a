import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { AuthenticatedRequest, SCOPES_KEY } from '../access';
import type { Scope } from '../../../core/auth/principal';
import { Bucket, bucketForScopes } from '../../../core/ratelimit/rate-limit-policy';
import type { Verdict } from './rate-limiter';
import { RateLimits } from './rate-limits';

const RATE_LIMIT_KEY = 'archipelago:rate-limit';

/** The verdict with less left, so the RateLimit headers describe the allowance that runs out first. */
const tighter = (a: Verdict | null, b: Verdict | null): Verdict | null => (!a || (b && b.remaining < a.remaining) ? b : a);

/** Counts the route's requests per source address in `bucket` (routes without a principal: agents). */
export const RateLimitPerAddress = (bucket: Bucket) => SetMetadata(RATE_LIMIT_KEY, bucket);

/**
 * Counts a request once its caller is known (the access guard calls it last): authenticated
 * requests count per principal in their scope's bucket; routes marked RateLimitPerAddress count per
 * source address; anything else (health, docs, metrics) is not limited. Answers carry
 * RateLimit-Limit/Remaining/Reset. A guard step rather than an interceptor: Nest runs interceptors
 * through rxjs and an AsyncResource per request, about a twentieth of the submit path's CPU.
 */
@Injectable()
export class RequestRateLimit {
  constructor(
    private readonly reflector: Reflector,
    private readonly limits: RateLimits,
  ) {}

  async admit(context: ExecutionContext): Promise<void> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const perAddress = this.reflector.getAllAndOverride<Bucket | undefined>(RATE_LIMIT_KEY, targets);
    let verdict;
    if (perAddress) {
      verdict = await this.limits.enforce(perAddress, `ip:${request.ip}`, null);
    } else if (request.principal) {
      const bucket = bucketForScopes(this.reflector.getAllAndOverride<Scope[]>(SCOPES_KEY, targets));
      const principal = request.principal;
      // A delegated request spends the sender's budget and route allowance (a marketplace's own
      // limits hold however many researchers it acts for) as well as the researcher's allowance.
      const sender = principal.sentBy ?? principal;
      await this.limits.enforceBudget(`principal:${sender.id}`, sender.kind);
      verdict = await this.limits.enforce(bucket, `principal:${principal.id}`, principal.kind);
      if (principal.sentBy) verdict = tighter(verdict, await this.limits.enforce(bucket, `principal:${sender.id}`, sender.kind));
    }
    if (verdict) {
      context
        .switchToHttp()
        .getResponse<FastifyReply>()
        .header('RateLimit-Limit', String(verdict.limit))
        .header('RateLimit-Remaining', String(verdict.remaining))
        .header('RateLimit-Reset', String(Math.ceil(verdict.resetMs / 1000)));
    }
  }
}
