import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Problem } from '../../core/common/problem';
import { credentialFamily, looksLikeApiKey } from '../../core/auth/api-key';
import { AuthService } from './auth.service';
import { DelegationsService } from './delegations';
import { Principal, Scope } from '../../core/auth/principal';
import { AuthenticatedRequest, PUBLIC_KEY, SCOPES_KEY } from '../../adapters/http/access';
import { RateLimits } from '../../adapters/http/ratelimit/rate-limits';
import { RequestRateLimit } from '../../adapters/http/ratelimit/request-rate-limit';

function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new Problem(401, 'Unauthorized', 'the Authorization header must be "Bearer <api key>"', { field: 'Authorization' });
    return match[1];
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey : null;
}

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly delegations: DelegationsService,
    private readonly limits: RateLimits,
    private readonly requestLimits: RequestRateLimit,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) {
      await this.requestLimits.admit(context);
      return true;
    }
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = presentedKey(request);
    if (!key) throw new Problem(401, 'Unauthorized', 'send an API key or login session token as "Authorization: Bearer <token>"', { field: 'Authorization' });
    const attempt = async () => {
      const found = looksLikeApiKey(key) ? await this.auth.authenticate(key) : null;
      if (!found) throw new Problem(401, 'Unauthorized', 'the API key or session token is unknown, revoked or expired', { field: 'Authorization' });
      return found;
    };
    const caller = await this.limits.authenticating(request.ip, credentialFamily(key), attempt);
    const principal = await this.onBehalfOf(request, caller);
    const required = this.reflector.getAllAndOverride<Scope[]>(SCOPES_KEY, targets) ?? [];
    const missing = required.filter((scope) => !principal.scopes.has(scope));
    if (missing.length > 0) {
      throw new Problem(403, 'Forbidden', `this key lacks the scope(s): ${missing.join(', ')}`, { requiredScopes: required });
    }
    request.principal = principal;
    // Last: who is calling decides which allowance the request spends.
    await this.requestLimits.admit(context);
    return true;
  }

  /** A marketplace account with `X-On-Behalf-Of` becomes the researcher that delegated to it. */
  private async onBehalfOf(request: FastifyRequest, caller: Principal): Promise<Principal> {
    const researcherId = request.headers['x-on-behalf-of'];
    if (researcherId === undefined) return caller;
    if (caller.kind !== 'marketplace') {
      throw new Problem(403, 'Forbidden', 'only marketplace accounts act on behalf of researchers', { field: 'X-On-Behalf-Of' });
    }
    const acting = typeof researcherId === 'string' ? await this.delegations.actingAs(caller, researcherId) : null;
    if (!acting) {
      throw new Problem(403, 'Forbidden', 'no active delegation from that researcher to this account', { field: 'X-On-Behalf-Of' });
    }
    return acting;
  }
}
