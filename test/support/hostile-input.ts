import fc from 'fast-check';
import type { KeyObject } from 'node:crypto';
import { signMessage, type AgentMessage } from '../../src/core/nodes/agent-protocol';

/**
 * Generators of hostile requests for every body (and path or query parameter) the API takes, and
 * the rule every answer must obey: never a 5xx, and every refusal an `application/problem+json`
 * that names the field when the request was malformed. Shared by the CI fuzz test
 * (test/integration/hostile-input.test.ts, a small seeded run) and `benchmarks/fuzz/run.ts` (the
 * big run).
 */

/** Strings that have broken parsers, shells, paths and SQL elsewhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\0',
  'a\0b',
  '\n',
  'a\nb',
  '\r\n',
  '\t',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ud800',
  'é',
  '𝔘𝔫𝔦',
  '🧨',
  '$(id)',
  '`id`',
  '; rm -rf / #',
  '| nc 10.0.0.1 9',
  '&&',
  "'",
  '"',
  '\\',
  '${IFS}',
  '%n%n%n%s',
  '../../../../etc/passwd',
  '/etc/shadow',
  '/home/bob/x',
  '\\/../bob/x',
  '%x/../../',
  '..',
  '.',
  '~root',
  "' OR '1'='1",
  "'; DROP TABLE jobs; --",
  '1; SELECT pg_sleep(5)',
  '" OR ""="',
  'NULL',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '-1',
  '0',
  '1e308',
  'NaN',
  'Infinity',
  '99999999999999999999',
  '9223372036854775808',
  '0x7fffffff',
  'true',
  '[]',
  '{}',
  'a'.repeat(300),
  'x'.repeat(70_000),
];

const nasty = fc.constantFrom(...NASTY_STRINGS);
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), nasty, fc.string({ maxLength: 10 })).map((p) => p.join('')) },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, Number.MAX_SAFE_INTEGER + 2),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, biased to hostile leaves and with absurd (but bounded) arrays. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
    fc.constant(Array.from({ length: 5000 }, (_, i) => i)),
  ),
})).value;

/** A value for a known member: usually its own type with hostile content, sometimes anything. */
const member = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: hostileJson });

/** An object with the named members (each maybe missing), plus sometimes a stray member. */
function bodyOf(members: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const known = fc.record(members, { requiredKeys: [] });
  return fc.oneof(
    { weight: 8, arbitrary: known },
    { weight: 1, arbitrary: fc.tuple(known, hostileString, hostileJson).map(([body, key, value]) => ({ ...(body as object), [key]: value })) },
    { weight: 1, arbitrary: hostileJson },
  );
}

const SBATCH_OPTIONS = [
  'job-name',
  'time',
  'time-min',
  'mem',
  'mem-per-cpu',
  'mem-per-gpu',
  'nodes',
  'ntasks',
  'ntasks-per-node',
  'cpus-per-task',
  'array',
  'dependency',
  'begin',
  'export',
  'output',
  'error',
  'input',
  'chdir',
  'signal',
  'nice',
  'mail-type',
  'mail-user',
  'gpus',
  'gpus-per-node',
  'exclusive',
  'open-mode',
  'partition',
  'hold',
  'comment',
  'gres',
  'requeue',
  'account',
  'qos',
  // Refused or unsupported: must be a 400 naming the option, never a pass or a crash.
  'uid',
  'gid',
  'clusters',
  'wrap',
  'test-only',
  'export-file',
  'get-user-env',
  'container',
  'nodelist',
  'priority',
  'tim',
  'me',
];
const optionName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SBATCH_OPTIONS) }, { weight: 1, arbitrary: hostileString });

/** Values that probe each option's own grammar as well as the generic hostile ones. */
const optionValue = fc.oneof(
  hostileString,
  fc.constantFrom(
    '00:05:00',
    'INFINITE',
    '0',
    '1-00:00:00',
    '99999999:00',
    '512M',
    '1T',
    '99999999999G',
    '0-15',
    '0-4000000',
    '1-10:0',
    '0-9%0',
    '1,2,3,'.repeat(2000),
    'afterok:1',
    'afterok:' + '1:'.repeat(500) + '1',
    'afterany:999999999999999999',
    'singleton',
    'after:-1',
    'now+1hour',
    '2038-01-19T03:14:08',
    'ALL',
    'NONE',
    'NONE,PATH=/x',
    'ALL,LD_PRELOAD=/tmp/x.so',
    'slurm-%j.out',
    '/home/alice/%x.out',
    '/etc/%j',
    '%u/../../x',
    'B:USR1@60',
    'SIGKILL@-5',
    'BEGIN,NONE',
    'alice@lab',
    'debug',
    'nosuchpart',
  ),
  hostileNumber,
  fc.boolean(),
  hostileJson,
);

const directiveLine = fc
  .tuple(
    fc.constantFrom('#SBATCH ', '#SBATCH\t', '#sbatch ', '#SBATCH  -', '#PBS ', '#BSUB '),
    fc.constantFrom('--', '-', ''),
    optionName,
    fc.constantFrom('=', ' ', ''),
    optionValue,
  )
  .map(([prefix, dashes, name, sep, value]) => `${prefix}${dashes}${name}${sep}${typeof value === 'string' ? value : JSON.stringify(value)}`);

/** A batch script: mostly `#!` plus directives and hostile lines, sometimes anything at all. */
export const hostileScript: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.array(fc.oneof(directiveLine, hostileString), { maxLength: 8 }).map((lines) => ['#!/bin/bash', ...lines, 'echo done'].join('\n')),
  },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom('#!/bin/bash\n' + 'x'.repeat(1_100_000), '#!', '#!\n', '\0#!/bin/bash', '#!/bin/sh\r\n#SBATCH --time=1\r\n') },
  { weight: 1, arbitrary: hostileJson },
);

export const submitBody = bodyOf({
  script: hostileScript,
  options: member(fc.dictionary(optionName, optionValue, { maxKeys: 6 })),
  environment: member(
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom('PATH', 'SBATCH_CLUSTERS', 'SLURM_CONF', 'LD_PRELOAD', 'A')), hostileJson, { maxKeys: 5 }),
  ),
  placement: member(
    bodyOf({
      regions: member(fc.array(hostileString, { maxLength: 40 })),
      providers: member(fc.array(hostileString, { maxLength: 40 })),
      performance: member(fc.array(fc.oneof(fc.constantFrom('high', 'low'), hostileString), { maxLength: 4 })),
      islands: member(fc.array(fc.oneof(fc.constant('local-a'), hostileString), { maxLength: 70 })),
      excludeIslands: member(fc.array(hostileString, { maxLength: 70 })),
      maxIslandLatencyMs: member(hostileNumber),
      maxPricePerCoreHour: member(hostileNumber),
    }),
  ),
});

const uuidish = fc.oneof(fc.uuid(), hostileString, fc.constant('00000000-0000-0000-0000-000000000000'));
/** Percent-encoded; a lone surrogate (which no URL can carry) becomes U+FFFD, as a browser would send it. */
const pathSegment = (text: string) => encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

export const principalBody = bodyOf({
  name: member(hostileString),
  kind: member(fc.oneof(fc.constantFrom('researcher', 'provider_admin', 'marketplace', 'platform_admin'), hostileString)),
  slurmUser: member(fc.oneof(fc.constantFrom('alice', 'root', 'slurm', 'bob'), hostileString)),
});
export const apiKeyBody = bodyOf({
  scopes: member(fc.array(fc.oneof(fc.constantFrom('submit', 'read', 'admin', 'provider'), hostileString), { maxLength: 6 })),
  expiresInSeconds: member(hostileNumber),
});
export const joinTokenBody = bodyOf({ providerId: member(uuidish), expiresInSeconds: member(hostileNumber), maxUses: member(hostileNumber) });
export const drainBody = bodyOf({ reason: member(hostileString) });

const inventory = bodyOf({
  cpus: member(hostileNumber),
  memoryMb: member(hostileNumber),
  gpus: member(fc.array(bodyOf({ model: member(hostileString), count: member(hostileNumber) }), { maxLength: 20 })),
  features: member(fc.array(hostileString, { maxLength: 70 })),
  performance: member(fc.oneof(fc.constantFrom('high', 'low'), hostileString)),
});
const signature = fc.oneof(hostileString, fc.constant('A'.repeat(86)), fc.constant('_'.repeat(86)));
export const joinBody = bodyOf({
  token: member(fc.oneof(hostileString, fc.constant(`jt_${'A'.repeat(43)}`))),
  message: member(
    bodyOf({
      purpose: member(fc.constantFrom('join', 'heartbeat', 'latency')),
      nonce: member(fc.oneof(hostileString, fc.constant('n'.repeat(32)))),
      publicKey: member(fc.oneof(hostileString, fc.constant('A'.repeat(43)))),
      inventory: member(inventory),
      tags: member(fc.dictionary(fc.oneof(fc.constantFrom('region', 'zone', 'rack', 'providerGroup'), hostileString), hostileJson, { maxKeys: 4 })),
      probeAddress: member(fc.oneof(hostileString, fc.constantFrom('127.0.0.1:7000', '[::1]:0', 'host:99999'))),
      sentAt: member(fc.oneof(hostileNumber, fc.constant(Date.now()))),
    }),
  ),
  signature: member(signature),
});
const nodeMessage = (purpose: 'heartbeat' | 'latency', extra: Record<string, fc.Arbitrary<unknown>>) =>
  bodyOf({
    message: member(
      bodyOf({
        purpose: member(fc.constantFrom(purpose, 'join', 'heartbeat', 'latency')),
        nodeId: member(uuidish),
        seq: member(hostileNumber),
        sentAt: member(hostileNumber),
        ...extra,
      }),
    ),
    signature: member(signature),
  });
export const heartbeatBody = nodeMessage('heartbeat', {
  capacity: member(bodyOf({ cpusFree: member(hostileNumber), memoryFreeMb: member(hostileNumber), gpusFree: member(hostileNumber) })),
  health: member(fc.oneof(fc.constantFrom('ok', 'degraded'), hostileString)),
  slurmdState: member(hostileString),
});
export const latencyBody = nodeMessage('latency', {
  samples: member(
    fc.array(
      bodyOf({ peer: member(uuidish), rttMs: member(fc.oneof(hostileNumber, fc.constant(null))), loss: member(hostileNumber), probes: member(hostileNumber) }),
      {
        maxLength: 300,
      },
    ),
  ),
});

/**
 * Agent messages that mostly pass the shape checks (so, signed, they reach the sequence, state and
 * storage paths), with edge values inside each type and now and then a hostile one.
 */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: hostileJson });
const edgeCount = fc.oneof(fc.nat(), fc.constantFrom(0, 1e12, 2 ** 31, 2 ** 31 - 1));
const wellFormedHeartbeat = fc.record({
  message: fc.record({
    purpose: fc.constant('heartbeat'),
    seq: mostly(fc.integer({ min: 1 })),
    sentAt: fc.constant(0),
    capacity: mostly(fc.record({ cpusFree: edgeCount, memoryFreeMb: edgeCount, gpusFree: edgeCount })),
    health: mostly(fc.constantFrom('ok', 'degraded')),
    slurmdState: mostly(fc.stringMatching(/^[A-Za-z0-9_+*~#$@%!^-]{0,64}$/)),
  }),
});
const wellFormedLatency = fc.record({
  message: fc.record({
    purpose: fc.constant('latency'),
    seq: mostly(fc.integer({ min: 1 })),
    sentAt: fc.constant(0),
    samples: mostly(
      fc.array(
        fc.record({
          peer: fc.oneof(fc.uuid(), fc.constant('00000000-0000-4000-8000-000000000000')),
          rttMs: fc.oneof(fc.double({ min: 0, max: 9999.99, noNaN: true }), fc.constantFrom(0, 9999.999)),
          loss: fc.oneof(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.constant(0)),
          probes: fc.integer({ min: 1, max: 1000 }),
        }),
        { maxLength: 256 },
      ),
    ),
  }),
});

/** Who sends a request: each role is a real key the harness created. */
export type Caller = 'researcher' | 'provider' | 'admin' | 'none';

export interface HostileRequest {
  endpoint: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  caller: Caller;
  /** A JSON value to send, or a raw string (sent as is, to exercise the body parser). */
  body?: unknown;
  raw?: string;
  contentType?: string;
  /**
   * Agent messages only: signed with the harness's real node key after its id is put in, so they
   * get past the signature to the sequence, state and storage checks; `fresh` also sets a `seq`
   * after every earlier one and the current time.
   */
  signed?: { fresh: boolean };
}

const json = (endpoint: string, method: 'POST' | 'DELETE', path: fc.Arbitrary<string>, caller: Caller, body: fc.Arbitrary<unknown>) =>
  fc.tuple(path, body).map(([p, b]): HostileRequest => ({ endpoint, method, path: p, caller, body: b }));
const get = (endpoint: string, path: fc.Arbitrary<string>, caller: Caller) => path.map((p): HostileRequest => ({ endpoint, method: 'GET', path: p, caller }));

const jobId = fc.oneof(hostileString, fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String));
const queryOf = (names: string[]) => fc.dictionary(fc.constantFrom(...names), hostileString, { maxKeys: 3 }).map((q) => new URLSearchParams(q).toString());

function signed(endpoint: string, path: string, body: fc.Arbitrary<unknown>): fc.Arbitrary<HostileRequest> {
  return fc.tuple(body, fc.boolean()).map(([b, fresh]) => ({ endpoint, method: 'POST', path, caller: 'none', body: b, signed: { fresh } }));
}

/**
 * Bodies whose danger is their shape rather than their content: nesting far past any DTO (33 to
 * 100,000 levels of arrays or objects), more members and elements than any request holds (10,001
 * and 200,000), and sizes past a route's limit (70 KB, past the small-body limit; 3 MB, past every
 * limit). Each is valid JSON, so only the edge's limits stand between it and the validators.
 */
export const SHAPES = {
  'deep arrays 33': (member: string) => `{"${member}":${'['.repeat(33)}1${']'.repeat(33)}}`,
  'deep arrays 5,000': (member: string) => `{"${member}":${'['.repeat(5000)}1${']'.repeat(5000)}}`,
  'deep arrays 100,000': (member: string) => `{"${member}":${'['.repeat(100_000)}1${']'.repeat(100_000)}}`,
  'deep objects 5,000': (member: string) => `{"${member}":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
  'deep top-level array 5,000': () => `${'['.repeat(5000)}${']'.repeat(5000)}`,
  'deep inside a valid submission': () => `{"script":"#!/bin/bash\\ntrue\\n","options":{"nodes":1,"comment":${'['.repeat(5000)}"x"${']'.repeat(5000)}}}`,
  '10,001 elements': (member: string) => `{"${member}":[${'0,'.repeat(10_000)}0]}`,
  '200,000 elements': (member: string) => `{"${member}":[${'"eu",'.repeat(199_999)}"eu"]}`,
  '10,001 members': () => `{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":0`).join(',')}}`,
  '70 KB string': (member: string) => JSON.stringify({ [member]: 'x'.repeat(70_000) }),
  '3 MB string': (member: string) => JSON.stringify({ [member]: `#!/bin/bash\n${'#'.repeat(3 * 1024 * 1024)}` }),
} as const;
export type Shape = keyof typeof SHAPES;

/** Routes a shaped body is sent to, with the member it is put in; several need no credentials. */
export const SHAPE_ROUTES: Array<{ path: string; caller: Caller; member: string }> = [
  { path: '/v1/jobs', caller: 'researcher', member: 'placement' },
  { path: '/v1/jobs', caller: 'none', member: 'options' },
  { path: '/v1/jobs/estimate', caller: 'researcher', member: 'environment' },
  { path: '/v1/jobs/cancel', caller: 'researcher', member: 'ids' },
  { path: '/v1/principals', caller: 'admin', member: 'name' },
  { path: '/v1/auth/challenge', caller: 'none', member: 'address' },
  { path: '/v1/auth/login', caller: 'none', member: 'signature' },
  { path: '/v1/auth/refresh', caller: 'none', member: 'refreshToken' },
  { path: '/v1/agent/join', caller: 'none', member: 'message' },
  { path: '/v1/agent/heartbeat', caller: 'none', member: 'message' },
  { path: '/v1/agent/latency', caller: 'none', member: 'message' },
];

const shapedBodies = new Map<string, string>();
/** Built once per shape and member and shared by every case that sends it (the largest is 3 MB). */
export function shapedBody(shape: Shape, member: string): string {
  const key = `${shape}:${member}`;
  let body = shapedBodies.get(key);
  if (body === undefined) shapedBodies.set(key, (body = SHAPES[shape](member)));
  return body;
}

/** Mostly the cheap-to-send shapes; the megabyte ones are one case in eight. */
const shape: fc.Arbitrary<Shape> = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.constantFrom<Shape>(
      'deep arrays 33',
      'deep arrays 5,000',
      'deep arrays 100,000',
      'deep objects 5,000',
      'deep top-level array 5,000',
      'deep inside a valid submission',
      '10,001 elements',
      '10,001 members',
      '70 KB string',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<Shape>('200,000 elements', '3 MB string') },
);
export const shapedRequest: fc.Arbitrary<HostileRequest> = fc.tuple(fc.constantFrom(...SHAPE_ROUTES), shape).map(([route, which]) => ({
  endpoint: `POST ${route.path} (${route.caller === 'none' ? 'no key, ' : ''}deep/huge)`,
  method: 'POST',
  path: route.path,
  caller: route.caller,
  raw: shapedBody(which, route.member),
  contentType: 'application/json',
}));

/** Every endpoint that takes caller input, weighted towards the ones with rich bodies. */
export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  { weight: 12, arbitrary: json('POST /v1/jobs', 'POST', fc.constant('/v1/jobs'), 'researcher', submitBody) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(
          hostileString,
          fc.constantFrom(
            '{"script":',
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
            '[]',
            'null',
            '"x"',
            '{"script":"#!/bin/sh\\n","options":' + '['.repeat(5000),
          ),
        ),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
        ),
      )
      .map(([raw, contentType]): HostileRequest => ({
        endpoint: 'POST /v1/jobs (raw)',
        method: 'POST',
        path: '/v1/jobs',
        caller: 'researcher',
        raw,
        contentType,
      })),
  },
  {
    weight: 2,
    arbitrary: get(
      'GET /v1/jobs/:id',
      fc.tuple(jobId, fc.constantFrom('', '/events', '/tasks', '/placement', '/output')).map(([id, tail]) => `/v1/jobs/${pathSegment(id)}${tail}`),
      'researcher',
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/jobs',
      queryOf(['state', 'island', 'name', 'cursor', 'limit']).map((q) => `/v1/jobs?${q}`),
      'researcher',
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/jobs/:id/output',
      fc.tuple(jobId, queryOf(['stream', 'task', 'offset', 'tail', 'length'])).map(([id, q]) => `/v1/jobs/${pathSegment(id)}/output?${q}`),
      'researcher',
    ),
  },
  {
    weight: 1,
    arbitrary: json(
      'DELETE /v1/jobs/:id',
      'DELETE',
      jobId.map((id) => `/v1/jobs/${pathSegment(id)}`),
      'researcher',
      fc.constant(undefined),
    ),
  },
  {
    weight: 1,
    arbitrary: json(
      'POST /v1/jobs/:id/hold',
      'POST',
      jobId.map((id) => `/v1/jobs/${pathSegment(id)}/hold`),
      'researcher',
      fc.constant(undefined),
    ),
  },
  { weight: 3, arbitrary: json('POST /v1/principals', 'POST', fc.constant('/v1/principals'), 'admin', principalBody) },
  {
    weight: 2,
    arbitrary: json(
      'POST /v1/principals/:id/api-keys',
      'POST',
      uuidish.map((id) => `/v1/principals/${pathSegment(id)}/api-keys`),
      'admin',
      apiKeyBody,
    ),
  },
  {
    weight: 1,
    arbitrary: json(
      'DELETE /v1/api-keys/:id',
      'DELETE',
      uuidish.map((id) => `/v1/api-keys/${pathSegment(id)}`),
      'admin',
      fc.constant(undefined),
    ),
  },
  { weight: 2, arbitrary: json('POST /v1/join-tokens', 'POST', fc.constant('/v1/join-tokens'), 'provider', joinTokenBody) },
  {
    weight: 1,
    arbitrary: json(
      'DELETE /v1/join-tokens/:id',
      'DELETE',
      uuidish.map((id) => `/v1/join-tokens/${pathSegment(id)}`),
      'provider',
      fc.constant(undefined),
    ),
  },
  {
    weight: 2,
    arbitrary: json(
      'POST /v1/nodes/:id/drain',
      'POST',
      uuidish.map((id) => `/v1/nodes/${pathSegment(id)}/drain`),
      'provider',
      drainBody,
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/nodes',
      queryOf(['state', 'providerId', 'after', 'limit']).map((q) => `/v1/nodes?${q}`),
      'provider',
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/audit',
      queryOf(['actor', 'action', 'target', 'since', 'until', 'after', 'limit']).map((q) => `/v1/audit?${q}`),
      'admin',
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/islands/:name',
      hostileString.map((name) => `/v1/islands/${pathSegment(name)}`),
      'researcher',
    ),
  },
  {
    weight: 1,
    arbitrary: get(
      'GET /v1/latency',
      queryOf(['nodes']).map((q) => `/v1/latency?${q}`),
      'provider',
    ),
  },
  {
    weight: 2,
    arbitrary: json('POST /v1/agent/join-challenge', 'POST', fc.constant('/v1/agent/join-challenge'), 'none', bodyOf({ token: member(hostileString) })),
  },
  { weight: 3, arbitrary: json('POST /v1/agent/join', 'POST', fc.constant('/v1/agent/join'), 'none', joinBody) },
  { weight: 3, arbitrary: json('POST /v1/agent/heartbeat', 'POST', fc.constant('/v1/agent/heartbeat'), 'none', heartbeatBody) },
  { weight: 2, arbitrary: json('POST /v1/agent/latency', 'POST', fc.constant('/v1/agent/latency'), 'none', latencyBody) },
  { weight: 3, arbitrary: signed('POST /v1/agent/heartbeat (signed)', '/v1/agent/heartbeat', fc.oneof(wellFormedHeartbeat, heartbeatBody)) },
  { weight: 2, arbitrary: signed('POST /v1/agent/latency (signed)', '/v1/agent/latency', fc.oneof(wellFormedLatency, latencyBody)) },
  { weight: 2, arbitrary: shapedRequest },
);

export interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

/**
 * What is wrong with an answer, or null: no 5xx ever; every 4xx is problem+json whose `status`
 * matches; a 400/413/415 (the request itself is malformed) names the offending `field`.
 */
export function answerViolation(answer: Answer): string | null {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  return problemViolation(answer);
}

/** What is wrong with an error answer as problem+json (any 4xx or 5xx), or null. */
export function problemViolation(answer: Answer): string | null {
  if (answer.status < 400) return null;
  if (!answer.contentType?.startsWith('application/problem+json')) return `${answer.status} with content-type ${answer.contentType}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `${answer.status} whose body is not JSON: ${answer.text.slice(0, 200)}`;
  }
  if (body.status !== answer.status || typeof body.title !== 'string' || typeof body.detail !== 'string') {
    return `${answer.status} problem without status/title/detail: ${answer.text.slice(0, 200)}`;
  }
  if ([400, 413, 415].includes(answer.status) && (typeof body.field !== 'string' || body.field === '')) {
    return `${answer.status} problem without a field: ${answer.text.slice(0, 300)}`;
  }
  return null;
}

/** Callers' API keys, and the node whose key signs agent messages marked `signed`. */
export type FuzzKeys = Record<Caller, string | null> & { node?: { id: string; key: KeyObject } };

let lastSeq = Date.now();

/** The body with its message made the node's, and signed by it. */
function signedBody(body: unknown, node: NonNullable<FuzzKeys['node']>, fresh: boolean): unknown {
  const outer = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Record<string, unknown>) } : {};
  const inner = outer.message && typeof outer.message === 'object' && !Array.isArray(outer.message) ? { ...(outer.message as Record<string, unknown>) } : {};
  inner.nodeId = node.id;
  if (fresh) Object.assign(inner, { seq: ++lastSeq, sentAt: Date.now() });
  return { ...outer, message: inner, signature: signMessage(inner as unknown as AgentMessage, node.key) };
}

/** Sends one hostile request with the caller's key; the answer as `answerViolation` reads it. */
export async function send(baseUrl: string, request: HostileRequest, keys: FuzzKeys): Promise<Answer> {
  const key = keys[request.caller];
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  let body: string | undefined;
  if (request.raw !== undefined) {
    body = request.raw;
    headers['content-type'] = request.contentType ?? 'application/json';
  } else if (request.body !== undefined) {
    body = JSON.stringify(request.signed && keys.node ? signedBody(request.body, keys.node, request.signed.fresh) : request.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${request.path}`, { method: request.method, headers, body });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

export interface FuzzReport {
  cases: number;
  seed: number;
  elapsedMs: number;
  /** Per endpoint: cases and how many got each status. */
  endpoints: Record<string, { cases: number; statuses: Record<string, number> }>;
  /** Distinct violations (endpoint + first line), each with one request that shows it. */
  violations: Array<{ endpoint: string; violation: string; request: HostileRequest; count: number }>;
}

/**
 * Sends `runs` generated requests (deterministic for a seed) from `concurrency` clients and sorts
 * the answers. Generation is in batches so a big run does not hold every case in memory.
 */
export async function fuzzHttp(
  baseUrl: string,
  keys: FuzzKeys,
  options: { runs: number; seed: number; concurrency: number; onProgress?: (done: number) => void },
): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { cases: 0, seed: options.seed, elapsedMs: 0, endpoints: {}, violations: [] };
  const seen = new Map<string, FuzzReport['violations'][number]>();
  const BATCH = 2000;
  for (let offset = 0; offset < options.runs; offset += BATCH) {
    const batch = fc.sample(hostileRequest, { numRuns: Math.min(BATCH, options.runs - offset), seed: options.seed + offset });
    let next = 0;
    const client = async () => {
      while (next < batch.length) {
        const request = batch[next++];
        let violation: string | null;
        let status = 'error';
        try {
          const answer = await send(baseUrl, request, keys);
          status = String(answer.status);
          violation = answerViolation(answer);
        } catch (error) {
          violation = `the request failed: ${(error as Error).message}`;
        }
        const stats = (report.endpoints[request.endpoint] ??= { cases: 0, statuses: {} });
        stats.cases++;
        stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        report.cases++;
        if (violation) {
          const id = `${request.endpoint} ${violation
            .split('\n')[0]
            .replace(/incident [0-9a-f-]+/, 'incident …')
            .slice(0, 160)}`;
          const known = seen.get(id);
          if (known) known.count++;
          else seen.set(id, { endpoint: request.endpoint, violation, request, count: 1 });
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, client));
    options.onProgress?.(report.cases);
  }
  report.violations = [...seen.values()];
  report.elapsedMs = Date.now() - started;
  return report;
}
