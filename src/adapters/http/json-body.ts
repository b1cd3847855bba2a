import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { JsonShapeLimits, JsonShapeScanner, JsonShapeViolation } from '../../core/common/json-shape';
import { Problem } from '../../core/common/problem';

/**
 * JSON request bodies, read by our own parser instead of Fastify's: each route gets its own size
 * limit, and the body's nesting and number of values are bounded while it arrives (see
 * JsonShapeScanner), so nothing recursive or linear in the number of values (JSON.parse,
 * class-transformer, class-validator and Nest's array-gap closing, which made a 2 MB array of
 * 200,000 strings cost a second of event loop) runs on a hostile body.
 *
 * A refused body is still read to its end (up to DISCARD_LIMIT_BYTES, not kept) before the answer
 * is sent: a server that answers and closes while the client is still sending makes the client's
 * write fail (EPIPE, a reset) and may lose the answer with it. Only a body past that bound, or one
 * that declares a length past it, is answered at once.
 */
export interface JsonBodyLimits {
  /** Bodies of routes marked CarriesBatchScript. */
  scriptBodyBytes: number;
  /** Every other JSON body. */
  bodyBytes: number;
}

/** Far more than any request this API takes; JSON texts this deep or this large are refused. */
export const JSON_SHAPE_LIMITS: JsonShapeLimits = { maxDepth: 32, maxValues: 10_000 };

/** A refused body is read and dropped up to this many bytes, so its sender can read the answer. */
export const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

const BODY_KIND = 'archipelagoBody';

/** The route's body holds a batch script: it gets the larger limit (ARCHIPELAGO_BODY_LIMIT_BYTES). */
export const CarriesBatchScript = () => RouteConfig({ [BODY_KIND]: 'script' });

function limitFor(request: FastifyRequest, limits: JsonBodyLimits): number {
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  return config?.[BODY_KIND] === 'script' ? limits.scriptBodyBytes : limits.bodyBytes;
}

const tooLarge = (limit: number) =>
  new Problem(413, 'Payload too large', `the body is larger than the ${limit} bytes this route accepts`, { field: 'body', limitBytes: limit });

function badShape({ limit, field }: JsonShapeViolation): Problem {
  const reason =
    limit === 'depth'
      ? `nests arrays and objects deeper than ${JSON_SHAPE_LIMITS.maxDepth} levels`
      : `holds more than ${JSON_SHAPE_LIMITS.maxValues} members and elements`;
  return new Problem(400, 'Invalid request', `${field === 'body' ? 'the body' : field} ${reason}`, { field, errors: [{ field, reason }] });
}

/**
 * Replaces every body parser with the JSON one (other media types get 415). Fastify's own JSON
 * parse (secure-json-parse: refuses `__proto__` and `constructor.prototype`) runs on what passed.
 */
export function installJsonBodyParser(fastify: FastifyInstance, limits: JsonBodyLimits): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    readBody(payload, Number(request.headers['content-length']), limitFor(request, limits), (refusal, text) => {
      if (refusal) done(refusal, undefined);
      // No body at all under a JSON content type (what many clients send on a bare POST, such as
      // /release) is no body, not a JSON syntax error; routes that need one say which field is missing.
      else if (text!.trim() === '') done(null, undefined);
      else parseJson(request, text!, done);
    });
  });
}

function readBody(payload: IncomingMessage, declaredLength: number, limit: number, finish: (refusal: Error | null, text?: string) => void): void {
  if (declaredLength > DISCARD_LIMIT_BYTES) {
    finish(tooLarge(limit));
    return;
  }
  const scanner = new JsonShapeScanner(JSON_SHAPE_LIMITS);
  let chunks: Buffer[] = [];
  let received = 0;
  let refusal: Problem | null = declaredLength > limit ? tooLarge(limit) : null;
  const stop = (error: Error | null, text?: string) => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    finish(error, text);
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (!refusal && received > limit) refusal = tooLarge(limit);
    if (!refusal) {
      const violation = scanner.scan(chunk);
      if (violation) refusal = badShape(violation);
    }
    if (!refusal) chunks.push(chunk);
    else {
      chunks = [];
      if (received > DISCARD_LIMIT_BYTES) stop(refusal);
    }
  };
  const onEnd = () => (refusal ? stop(refusal) : stop(null, Buffer.concat(chunks, received).toString('utf8')));
  const onError = (error: Error) => stop(new Problem(400, 'Invalid request', `the body could not be read: ${error.message}`, { field: 'body' }));
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}
