import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal, Scope } from '../../core/auth/principal';

// What a route demands of its caller, declared where the route is; the auth feature's guard enforces it.
// Kept here so that every feature's controllers can say it without importing the auth feature.
export const SCOPES_KEY = 'archipelago:scopes';
export const PUBLIC_KEY = 'archipelago:public';

/** The caller must hold every listed scope. */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(SCOPES_KEY, scopes);
/** No credentials needed (health, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export type AuthenticatedRequest = FastifyRequest & { principal: Principal };

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);
