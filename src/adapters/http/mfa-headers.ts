import { applyDecorators, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { MfaProof } from '../../core/identity/mfa-proof';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { invalid } from '../../core/common/problem';

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

/**
 * The MFA headers of the request. Step-up is checked in the handler, after the body is validated,
 * so a malformed request never consumes a single-use MFA session.
 */
export const PresentedMfa = createParamDecorator((_: unknown, context: ExecutionContext) => mfaProofOf(context.switchToHttp().getRequest<FastifyRequest>()));

const MFA_HEADERS = [
  ApiHeader({ name: 'X-MFA-Session', required: false, description: 'An MFA authorization session id from VirtEngine x/mfa (step-up for sensitive actions)' }),
  ApiHeader({ name: 'X-MFA-Device', required: false, description: 'Device fingerprint the MFA session is bound to, or a trusted device' }),
  ApiHeader({ name: 'X-MFA-Trust-Token', required: false, description: "The trusted device's token (lowers the factor count)" }),
];

/** Documents the MFA headers on a route with a sensitive action. */
export const MfaHeaders = () => applyDecorators(...MFA_HEADERS);
