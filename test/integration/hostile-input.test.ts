import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../support/control-plane';
import { answerViolation, fuzzHttp } from '../support/hostile-input';
import { ManualNode } from '../support/manual-node';

/**
 * Hostile input against the real control plane (island local-a; the worker is stopped so nothing
 * generated reaches SLURM): a seeded property run over every endpoint, the regressions it found,
 * and tenant isolation compared byte for byte.
 */
describe('hostile input: fuzzing the API, regressions, tenant isolation', { timeout: 300_000 }, () => {
  const cp = new ControlPlane('hostile', {
    islands: [{ name: 'local-a' }],
    redisDb: 12,
    databaseName: 'hard_hostile_input',
    env: { ARCHIPELAGO_RATE_LIMITS: 'off' },
  });
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let acme: { id: string; key: string };
  let globex: { id: string; key: string };

  const problemOk = (answer: { status: number; headers: Headers; text: string }) =>
    answerViolation({ status: answer.status, contentType: answer.headers.get('content-type'), text: answer.text });

  before(async () => {
    await cp.start();
    cp.killWorker();
    alice = await cp.researcher('alice', 'alice');
    bob = await cp.researcher('bob', 'bob');
    acme = await cp.provider('acme');
    globex = await cp.provider('globex');
  });
  after(() => cp.stop());

  it('2000 generated requests over every endpoint: no 5xx, every refusal problem+json with a field where it applies', async () => {
    const node = new ManualNode(cp);
    await node.join(acme.key);
    const keys = { researcher: alice.key, provider: acme.key, admin: cp.adminKey, none: null, node: { id: node.id, key: node.key } };
    const report = await fuzzHttp(cp.url, keys, { runs: 2000, seed: 8002, concurrency: 4 });
    assert.equal(report.cases, 2000);
    assert.deepEqual(
      report.violations.map((v) => `${v.endpoint}: ${v.violation}`),
      [],
      cp.recentLogs(),
    );
    // The run must reach past validation, or it proves little: some submissions are accepted.
    assert.ok((report.endpoints['POST /v1/jobs'].statuses['202'] ?? 0) > 0, JSON.stringify(report.endpoints['POST /v1/jobs']));
    assert.ok(
      (report.endpoints['POST /v1/agent/heartbeat (signed)'].statuses['200'] ?? 0) > 0,
      JSON.stringify(report.endpoints['POST /v1/agent/heartbeat (signed)']),
    );
  });

  it('regressions: NUL in a filter, root as slurmUser, bad island names, long paths, huge headers, bad JSON, size limits', async () => {
    const deep = (levels: number, member: string) => `{"${member}":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    const manyValues = JSON.stringify({ script: '#!/bin/bash\ntrue\n', placement: { regions: Array.from({ length: 200_000 }, () => 'eu') } });
    // Each request is sent when the one before was answered, so a failed one is this test's failure, never an unhandled rejection.
    const checks: Array<[string, () => Promise<{ status: number; headers: Headers; text: string; json: any }>, number, string | undefined]> = [
      ['NUL in ?name', () => cp.request('GET', '/v1/jobs?name=%00', alice.key), 400, 'name'],
      ['NUL in ?after', () => cp.request('GET', '/v1/nodes?after=%00', acme.key), 400, 'after'],
      [
        'slurmUser root',
        () => cp.request('POST', '/v1/principals', cp.adminKey, { name: 'mallory', kind: 'provider_admin', slurmUser: 'root' }),
        400,
        'slurmUser',
      ],
      ['NUL island', () => cp.request('GET', '/v1/islands/%00', alice.key), 404, undefined],
      ['long path parameter', () => cp.request('GET', `/v1/jobs/${'9'.repeat(500)}`, alice.key), 414, 'path'],
      ['invalid JSON', () => cp.request('POST', '/v1/jobs', alice.key, '{"script":', { 'content-type': 'application/json' }), 400, 'body'],
      [
        '__proto__ member',
        () => cp.request('POST', '/v1/jobs', alice.key, '{"__proto__":{"admin":true}}', { 'content-type': 'application/json' }),
        400,
        'body',
      ],
      ['wrong media type', () => cp.request('POST', '/v1/jobs', alice.key, '<script/>', { 'content-type': 'application/xml' }), 415, 'body'],
      ['stray "" member', () => cp.request('POST', '/v1/jobs', alice.key, { script: '#!/bin/bash\ntrue\n', '': 1 }), 400, '""'],
      ['body over the limit', () => cp.request('POST', '/v1/jobs', alice.key, { script: `#!/bin/bash\n${'#'.repeat(3 * 1024 * 1024)}` }), 413, 'body'],
      ['script over the limit', () => cp.request('POST', '/v1/jobs', alice.key, { script: `#!/bin/bash\n${'#'.repeat(1024 * 1024)}` }), 400, 'script'],
      // 5,000 levels once overflowed the validators' stack (500), on routes that need no login too.
      ['5,000 levels in a job', () => cp.request('POST', '/v1/jobs', alice.key, deep(5000, 'options')), 400, 'options'],
      ['5,000 levels before login', () => cp.request('POST', '/v1/jobs', null, deep(5000, 'options')), 400, 'options'],
      ['5,000 levels in a wallet challenge', () => cp.request('POST', '/v1/auth/challenge', null, deep(5000, 'address')), 400, 'address'],
      ['5,000 levels in a heartbeat', () => cp.request('POST', '/v1/agent/heartbeat', null, deep(5000, 'message')), 400, 'message'],
      ['33 levels in a heartbeat', () => cp.request('POST', '/v1/agent/heartbeat', null, deep(33, 'message')), 400, 'message'],
      [
        '200,000 array elements in a job',
        () => cp.request('POST', '/v1/jobs', alice.key, manyValues, { 'content-type': 'application/json' }),
        400,
        'placement',
      ],
      // Only bodies that carry a batch script may be large.
      ['100 KB wallet challenge', () => cp.request('POST', '/v1/auth/challenge', null, { address: 'x'.repeat(100_000) }), 413, 'body'],
      ['100 KB heartbeat', () => cp.request('POST', '/v1/agent/heartbeat', null, { message: { pad: 'x'.repeat(100_000) }, signature: 'A' }), 413, 'body'],
    ];
    for (const [what, send, status, field] of checks) {
      const answer = await send();
      assert.equal(answer.status, status, `${what}: ${answer.text.slice(0, 300)}`);
      assert.equal(problemOk(answer), null, what);
      assert.equal(answer.json?.field, field, what);
    }
  });

  it('regression: a body over the limit is answered 413 after the client sent all of it, so the client reads the answer', async () => {
    // Declared and sent in full, with a pause after the limit has passed: a server that answers
    // and closes at the limit makes the rest of the upload fail (EPIPE, "fetch failed").
    const body = Buffer.from(JSON.stringify({ script: `#!/bin/bash\n${'#'.repeat(3 * 1024 * 1024)}` }));
    const answer = await new Promise<{ status: number; contentType: string | null; text: string; sentAll: boolean; error?: Error }>((resolve) => {
      const outcome = { status: 0, contentType: null as string | null, text: '', sentAll: false, error: undefined as Error | undefined };
      let closed = false;
      let ended = false;
      const settle = () => closed && ended && resolve(outcome);
      const req = httpRequest(`${cp.url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      });
      req.on('response', (res) => {
        outcome.status = res.statusCode!;
        outcome.contentType = res.headers['content-type'] ?? null;
        res.on('data', (chunk) => (outcome.text += chunk));
      });
      req.on('error', (error) => (outcome.error = error));
      req.on('close', () => {
        closed = true;
        settle();
      });
      const cut = 2.5 * 1024 * 1024;
      req.write(body.subarray(0, cut));
      setTimeout(() => {
        req.end(body.subarray(cut), () => (outcome.sentAll = true));
        ended = true;
        settle();
      }, 500);
    });
    assert.equal(answer.error, undefined, 'the upload was cut off');
    assert.ok(answer.sentAll, 'the whole body was sent');
    assert.equal(answer.status, 413, answer.text);
    assert.equal(answerViolation(answer), null);
    assert.equal(JSON.parse(answer.text).field, 'body');
  });

  it('regression: a drain reason with NUL or a newline is a 400 on a real node, and the node stays as it was', async () => {
    const node = new ManualNode(cp);
    await node.join(acme.key);
    for (const reason of ['disk\u0000', 'disk\nINFO forged log line']) {
      const drained = await cp.request('POST', `/v1/nodes/${node.id}/drain`, acme.key, { reason });
      assert.equal(drained.status, 400, drained.text);
      assert.equal(drained.json.field, 'reason');
    }
    assert.equal((await cp.request('GET', `/v1/nodes/${node.id}`, acme.key)).json.state, 'PENDING');
  });

  it('regression: headers larger than the parser allows get a 431 problem', async () => {
    const { status, contentType, text } = await new Promise<{ status: number; contentType: string | null; text: string }>((resolve, reject) => {
      const req = httpRequest(`${cp.url}/v1/jobs`, { headers: { 'x-filler': 'x'.repeat(40_000) } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'] ?? null, text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    assert.equal(answerViolation({ status, contentType, text }), null);
    assert.equal(JSON.parse(text).field, 'headers');
  });

  it("another tenant's job answers exactly like a job that does not exist, on every route", async () => {
    const submitted = await cp.request('POST', '/v1/jobs', bob.key, { script: '#!/bin/bash\ntrue\n', options: { hold: true } });
    assert.equal(submitted.status, 202, submitted.text);
    const theirs = submitted.json.id as string;
    const missing = String(Number(theirs) + 1_000_000);
    const routes: Array<[string, (id: string) => string]> = [
      ['GET', (id) => `/v1/jobs/${id}`],
      ['GET', (id) => `/v1/jobs/${id}/events`],
      ['GET', (id) => `/v1/jobs/${id}/tasks`],
      ['GET', (id) => `/v1/jobs/${id}/placement`],
      ['GET', (id) => `/v1/jobs/${id}/output`],
      ['DELETE', (id) => `/v1/jobs/${id}`],
      ['POST', (id) => `/v1/jobs/${id}/hold`],
      ['POST', (id) => `/v1/jobs/${id}/release`],
    ];
    for (const [method, path] of routes) {
      const other = await cp.request(method, path(theirs), alice.key);
      const none = await cp.request(method, path(missing), alice.key);
      assert.equal(other.status, 404, `${method} ${path(theirs)}: ${other.text}`);
      assert.equal(other.text.replaceAll(theirs, '<id>'), none.text.replaceAll(missing, '<id>'), `${method} ${path('<id>')}`);
      assert.equal(other.headers.get('content-type'), none.headers.get('content-type'));
    }
    // Bob's job is untouched by alice's attempts (still held, not cancelled).
    const still = await cp.request('GET', `/v1/jobs/${theirs}`, bob.key);
    assert.equal(still.json.state, 'ACCEPTED', still.text);
    const listed = await cp.request('GET', `/v1/jobs?name=${encodeURIComponent(submitted.json.name)}&limit=500`, alice.key);
    assert.equal(listed.status, 200);
    assert.ok(!listed.json.items.some((job: { id: string }) => job.id === theirs), 'not in her list either');
  });

  it("another provider's join token and node answer exactly like ones that do not exist", async () => {
    const token = await cp.request('POST', '/v1/join-tokens', globex.key, {});
    assert.equal(token.status, 201, token.text);
    const node = new ManualNode(cp);
    await node.join(globex.key);
    const pairs: Array<[string, string, string]> = [
      ['DELETE', `/v1/join-tokens/${token.json.id}`, `/v1/join-tokens/${randomUUID()}`],
      ['GET', `/v1/nodes/${node.id}`, `/v1/nodes/${randomUUID()}`],
      ['POST', `/v1/nodes/${node.id}/resume`, `/v1/nodes/${randomUUID()}/resume`],
      ['DELETE', `/v1/nodes/${node.id}`, `/v1/nodes/${randomUUID()}`],
    ];
    const idOf = (path: string) => path.split('/')[3];
    for (const [method, theirs, missing] of pairs) {
      const other = await cp.request(method, theirs, acme.key);
      const none = await cp.request(method, missing, acme.key);
      assert.equal(other.status, 404, `${method} ${theirs}: ${other.text}`);
      assert.equal(other.text.replaceAll(idOf(theirs), '<id>'), none.text.replaceAll(idOf(missing), '<id>'), `${method} ${theirs}`);
    }
    const drained = await cp.request('POST', `/v1/nodes/${node.id}/drain`, acme.key, { reason: 'not yours' });
    assert.equal(drained.status, 404);
    assert.equal((await cp.request('GET', `/v1/nodes/${node.id}`, globex.key)).json.state, 'PENDING', 'untouched');
  });
});
