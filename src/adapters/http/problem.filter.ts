import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable } from '../postgres/database-unavailable';
import { Problem, unavailable } from '../../core/common/problem';

/** Seconds a client is asked to wait after a 503: about how long a PostgreSQL restart or failover takes. */
const RETRY_AFTER_SECONDS = 5;

/** Fastify's own client errors (body parsing, limits) by code, as problems a client can act on. */
const FASTIFY_CLIENT_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'Payload too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'Unsupported media type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'Invalid request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'Invalid request'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'Invalid request'],
};

const BODY_STATUSES = new Set([400, 413, 415]);

export function toProblem(error: unknown): Problem | null {
  if (error instanceof Problem) return error;
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Not an error status (a framework redirect or similar): no problem to answer with.
    if (!Number.isInteger(status) || status < 400 || status > 599) return null;
    const response = error.getResponse();
    const message =
      typeof response === 'object' && response && 'message' in response ? [(response as { message: unknown }).message].flat().join('; ') : error.message;
    // Nest rethrows Fastify's body-parsing and media-type errors as bare HttpExceptions; our own
    // pipes throw Problems, so a bare 400/413/415 is about the body as a whole.
    return new Problem(status, httpTitle(status), message, BODY_STATUSES.has(status) ? { field: 'body' } : {});
  }
  const code = (error as { code?: string })?.code;
  if (code && FASTIFY_CLIENT_ERRORS[code]) {
    const [status, title] = FASTIFY_CLIENT_ERRORS[code];
    return new Problem(status, title, (error as Error).message, { field: 'body' });
  }
  if (isDatabaseUnavailable(error)) return unavailable('the database is unreachable; retry shortly');
  if (error instanceof SyntaxError && /JSON/.test(error.message)) {
    return new Problem(400, 'Invalid request', `body is not valid JSON: ${error.message}`, { field: 'body' });
  }
  return null;
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Invalid request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not found',
    405: 'Method not allowed',
    406: 'Not acceptable',
    409: 'Conflict',
    413: 'Payload too large',
    415: 'Unsupported media type',
    416: 'Range not satisfiable',
    422: 'Unprocessable content',
    429: 'Too many requests',
    503: 'Service unavailable',
  };
  return titles[status] ?? (status >= 500 ? 'Internal error' : 'Request failed');
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    let problem = toProblem(error);
    if (!problem) {
      const incident = randomUUID();
      this.logger.error(`incident ${incident} on ${request.method} ${request.url}: ${(error as Error)?.stack ?? error}`);
      problem = new Problem(500, 'Internal error', `the request failed on our side; incident ${incident}`);
    }
    if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="archipelago"');
    if (problem.status === 429 && typeof problem.extras.retryAfterSeconds === 'number') reply.header('Retry-After', String(problem.extras.retryAfterSeconds));
    if (problem.status === 503) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
    reply.status(problem.status).type('application/problem+json').send(problem.toBody());
  }
}
