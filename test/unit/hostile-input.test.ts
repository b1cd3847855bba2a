import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentMetadata, BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import fc from 'fast-check';
import { CreatePrincipalDto } from '../../src/features/auth/auth.dto';
import { DrainNodeDto, ListNodesQuery } from '../../src/features/nodes/nodes.dto';
import { clientErrorResponse } from '../../src/adapters/http/framework-errors';
import { Problem } from '../../src/core/common/problem';
import { toProblem } from '../../src/adapters/http/problem.filter';
import { createValidationPipe } from '../../src/adapters/http/validation';
import { ListJobsQuery } from '../../src/features/jobs/jobs.dto';
import { answerViolation, hostileRequest } from '../support/hostile-input';
import { normalizeSubmission, SubmitInput } from '../../src/core/jobs/job-request';
import { FUZZ_POLICY, fuzzParser, parserViolation } from '../support/hostile-parser';

/** What the global validation pipe answers for `value` as a `type` body; null when it passes. */
async function refusal(type: new () => object, value: unknown): Promise<Problem | null> {
  const metadata: ArgumentMetadata = { type: 'body', metatype: type };
  try {
    await createValidationPipe().transform(value, metadata);
    return null;
  } catch (error) {
    assert.ok(error instanceof Problem, `expected a Problem, got ${error}`);
    return error;
  }
}

describe('hostile input: the sbatch parser and submission policy (seeded property run)', () => {
  it('5000 generated submissions: every one is accepted or refused with a 4xx naming a field', () => {
    const report = fuzzParser({ runs: 5000, seed: 424242 });
    assert.equal(report.cases, 5000);
    assert.deepEqual(report.violations, []);
  });

  it('the checker passes a proper refusal and flags a crash', () => {
    assert.equal(parserViolation({ script: '#!/bin/bash\n#SBATCH --uid=0\n' }), null);
    // Validation keeps a non-string script away from the policy; handed one anyway, it throws a TypeError.
    assert.match(parserViolation({ script: 5 }) ?? '', /threw TypeError/);
  });

  it('refuses traversal, metacharacters and NUL wherever they are sent, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ script: '#!/bin/bash\n#SBATCH --output=../../bob/x\n' }, '--output'],
      [{ script: '#!/bin/bash\n#SBATCH --output=\\/../bob/x\n' }, '--output'],
      [{ script: '#!/bin/bash\n', options: { chdir: '/etc' } }, '--chdir'],
      [{ script: '#!/bin/bash\n#SBATCH --job-name=a/b\n' }, '--job-name'],
      [{ script: '#!/bin/bash\n', environment: { X: 'a\0b' } }, 'environment.X'],
      [{ script: '#!/bin/bash\n', environment: { 'A;B': '1' } }, 'environment.A;B'],
      [{ script: '#!/bin/bash\n', environment: { SBATCH_CLUSTERS: 'x' } }, 'environment.SBATCH_CLUSTERS'],
      [{ script: '#!/bin/bash\n', options: { dependency: 'afterok:' + Array.from({ length: 101 }, (_, i) => i + 1).join(':') } }, '--dependency'],
      [{ script: '#!/bin/bash\n', options: { array: '0-4000000' } }, 'options.array'],
      // --wrap makes the script itself: one sent with it is refused, as sbatch refuses it.
      [{ script: '#!/bin/bash\n', options: { wrap: 'id' } }, 'script'],
      [{ options: { wrap: '\0' } }, 'options.wrap'],
      [{ script: '#!/bin/bash\n', options: { "job-name'; DROP TABLE jobs; --": 'x' } }, "options.job-name'; DROP TABLE jobs; --"],
    ];
    for (const [body, field] of cases) {
      assert.equal(parserViolation(body), null);
      assert.throws(
        () => normalizeSubmission(body as SubmitInput, FUZZ_POLICY),
        (error: unknown) => error instanceof Problem && error.status === 400 && error.extras.field === field,
        `${JSON.stringify(body).slice(0, 80)} should be refused on ${field}`,
      );
    }
  });
});

describe('hostile input: regressions found by fuzzing the API', () => {
  it('NUL in a job-name filter, a node cursor or a drain reason is a 400, not a failed query', async () => {
    assert.equal((await refusal(ListJobsQuery, { name: 'a\0b' }))?.extras.field, 'name');
    assert.equal(await refusal(ListJobsQuery, { name: "x' OR '1'='1" }), null, 'quotes are data, bound as parameters');
    assert.equal((await refusal(ListNodesQuery, { after: '\0' }))?.extras.field, 'after');
    assert.equal((await refusal(DrainNodeDto, { reason: 'disk\0' }))?.extras.field, 'reason');
    assert.equal((await refusal(DrainNodeDto, { reason: 'ok\nFAKE LOG LINE' }))?.extras.field, 'reason');
    assert.equal(await refusal(DrainNodeDto, { reason: 'disk replacement — ünïcode ok' }), null);
  });

  it('a principal running as root or slurm is a 400 on slurmUser (the database constraint used to make it a 500)', async () => {
    for (const slurmUser of ['root', 'slurm']) {
      assert.equal((await refusal(CreatePrincipalDto, { name: 'x', kind: 'provider_admin', slurmUser }))?.extras.field, 'slurmUser');
    }
    assert.equal(await refusal(CreatePrincipalDto, { name: 'x', kind: 'researcher', slurmUser: 'alice' }), null);
  });

  it('a stray member named "" is named in the problem', async () => {
    const problem = await refusal(DrainNodeDto, { reason: 'x', '': 1 });
    assert.equal(problem?.status, 400);
    assert.equal(problem?.extras.field, '""');
  });

  it("Fastify's body errors, rethrown by Nest as bare exceptions, name the body", () => {
    const json = toProblem(new BadRequestException("Body is not valid JSON but content-type is set to 'application/json'"));
    assert.equal(json?.status, 400);
    assert.equal(json?.extras.field, 'body');
    assert.equal(toProblem(new UnsupportedMediaTypeException())?.extras.field, 'body');
  });

  it('oversized headers get a problem+json answer on the raw socket', () => {
    const raw = clientErrorResponse('HPE_HEADER_OVERFLOW');
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.match(head, /Content-Type: application\/problem\+json/);
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}`));
    assert.equal(answerViolation({ status: 431, contentType: 'application/problem+json', text: body }), null);
  });
});

describe('hostile input: the answer rule', () => {
  it('flags 5xx, non-problem 4xx and 400s without a field; passes 2xx and proper problems', () => {
    const problem = (status: number, extra = {}) => JSON.stringify({ type: 't', title: 'T', status, detail: 'd', ...extra });
    assert.match(answerViolation({ status: 500, contentType: 'application/problem+json', text: problem(500) })!, /500/);
    assert.match(answerViolation({ status: 404, contentType: 'application/json', text: problem(404) })!, /content-type/);
    assert.match(answerViolation({ status: 400, contentType: 'application/problem+json', text: problem(400) })!, /field/);
    assert.equal(answerViolation({ status: 400, contentType: 'application/problem+json', text: problem(400, { field: 'x' }) }), null);
    assert.equal(answerViolation({ status: 404, contentType: 'application/problem+json', text: problem(404) }), null);
    assert.equal(answerViolation({ status: 202, contentType: 'application/json', text: '{}' }), null);
  });

  it('the request generator covers every endpoint that takes input', () => {
    const endpoints = new Set(fc.sample(hostileRequest, { numRuns: 3000, seed: 1 }).map((r) => r.endpoint));
    for (const expected of [
      'POST /v1/jobs',
      'POST /v1/principals',
      'POST /v1/principals/:id/api-keys',
      'POST /v1/join-tokens',
      'POST /v1/nodes/:id/drain',
      'POST /v1/agent/join-challenge',
      'POST /v1/agent/join',
      'POST /v1/agent/heartbeat',
      'POST /v1/agent/latency',
    ]) {
      assert.ok(endpoints.has(expected), `no case for ${expected}`);
    }
  });
});
