import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { Problem } from '../../core/common/problem';

/**
 * Requests Fastify refuses before routing (an over-long path parameter, a malformed URL) or that
 * Node's HTTP parser refuses before Fastify sees them (oversized headers, timeouts). Fastify's
 * defaults answer these with its own JSON shape; here they get problem+json like every other error.
 */
export function frameworkErrorAsProblem(error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new Problem(414, 'URI too long', 'a path parameter is longer than this API accepts', { field: 'path' })
      : new Problem(400, 'Invalid request', 'the URL is not valid', { field: 'path' });
  reply.status(problem.status).type('application/problem+json').send(problem.toBody());
}

/** The raw-socket answer for errors Node's HTTP parser raises; the connection is closed after it. */
export function clientErrorResponse(code: string | undefined): string {
  const problem =
    code === 'HPE_HEADER_OVERFLOW'
      ? new Problem(431, 'Request header fields too large', 'the request line and headers exceed the size this server accepts', { field: 'headers' })
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new Problem(408, 'Request timeout', 'the request was not received in time')
        : new Problem(400, 'Invalid request', 'the request is not valid HTTP', { field: 'request' });
  const body = JSON.stringify(problem.toBody());
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

export function clientErrorAsProblem(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.write(clientErrorResponse(error.code));
  socket.destroy(error);
}
