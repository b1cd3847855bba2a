import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { invalid } from '../common/problem';
import { MfaGate } from './mfa-gate.service';
import type { SensitiveAction } from './mfa-rules';

/** What a caller presents for a sensitive action: an MFA session verified on chain, optionally a device. */
export interface MfaProof {
  sessionId: string | null;
  deviceFingerprint: string | null;
  trustToken: string | null;
}

const HEADER_VALUE = /^[\x21-\x7e]{1,256}$/;

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !HEADER_VALUE.test(value)) throw invalid(name, 'must be 1-256 printable ASCII characters');
  return value;
}

export function mfaProofOf(request: FastifyRequest): MfaProof {
  return {
    sessionId: header(request, 'x-mfa-session'),
    deviceFingerprint: header(request, 'x-mfa-device'),
    trustToken: header(request, 'x-mfa-trust-token'),
  };
}

/** The MFA headers of the request, for services that decide on step-up after reading the body. */
export const PresentedMfa = createParamDecorator((_: unknown, context: ExecutionContext) => mfaProofOf(context.switchToHttp().getRequest<FastifyRequest>()));

const STEP_UP_KEY = 'archipelago:step-up';

@Injectable()
export class StepUpGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly mfa: MfaGate,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const action = this.reflector.get<SensitiveAction>(STEP_UP_KEY, context.getHandler());
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    await this.mfa.require(request.principal, action, mfaProofOf(request));
    return true;
  }
}

const MFA_HEADERS = [
  ApiHeader({ name: 'X-MFA-Session', required: false, description: 'An MFA authorization session id from VirtEngine x/mfa (step-up for sensitive actions)' }),
  ApiHeader({ name: 'X-MFA-Device', required: false, description: 'Device fingerprint the MFA session is bound to, or a trusted device' }),
  ApiHeader({ name: 'X-MFA-Trust-Token', required: false, description: "The trusted device's token (lowers the factor count)" }),
];

/** Documents the MFA headers on a route that decides on step-up itself. */
export const MfaHeaders = () => applyDecorators(...MFA_HEADERS);

/** This route is a sensitive action: the caller must present a valid MFA session when the chain requires one. */
export const RequireStepUp = (action: SensitiveAction) => applyDecorators(SetMetadata(STEP_UP_KEY, action), UseGuards(StepUpGuard), ...MFA_HEADERS);
