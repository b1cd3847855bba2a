import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { withLogContext } from './log-context';

/** Accepted from a caller or a proxy; anything else is replaced, so ids stay safe to log and echo. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JOB_ROUTE = /^\/v1\/jobs\/:id(\/|$)/;

/**
 * Every request gets an id (the caller's `X-Request-Id` when sane, else a UUID), echoed in the
 * response, carried by every log line written while handling it, and one access line at the end.
 */
export function installHttpLogging(fastify: FastifyInstance): void {
  const logger = new Logger('http');
  fastify.addHook('onRequest', (request, reply, done) => {
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    reply.header('X-Request-Id', requestId);
    const params = request.params as { id?: string } | undefined;
    const jobId = JOB_ROUTE.test(request.routeOptions.url ?? '') ? params?.id : undefined;
    withLogContext({ requestId, jobId }, done);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const location = reply.getHeader('location');
    const created = typeof location === 'string' ? /^\/v1\/jobs\/(\d+)$/.exec(location)?.[1] : undefined;
    logger.log({
      msg: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} ${reply.statusCode}`,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      // Explicit: onResponse may run outside the request's async context.
      requestId: reply.getHeader('x-request-id'),
      ...(created ? { jobId: created } : {}),
    });
  });
}
