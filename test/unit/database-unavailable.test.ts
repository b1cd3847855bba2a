import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/database-unavailable';
import { toProblem } from '../../src/adapters/http/problem.filter';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('database unavailability is a 503, not a 500', () => {
  it('recognizes a refused connection, shutdown SQLSTATEs and dropped connections, also wrapped by TypeORM', () => {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], pgError('57P01', 'terminating connection due to administrator command'))), true);
    assert.equal(isDatabaseUnavailable(pgError('57P03', 'the database system is starting up')), true);
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isDatabaseUnavailable(new Error('query failed', { cause: new Error('timeout exceeded when trying to connect') })), true);
  });

  it('leaves errors about the statement alone', () => {
    assert.equal(isDatabaseUnavailable(new QueryFailedError('INSERT', [], pgError('23505', 'duplicate key value'))), false);
    assert.equal(isDatabaseUnavailable(pgError('42P01', 'relation "jobs" does not exist')), false);
    assert.equal(isDatabaseUnavailable(new Error('boom')), false);
    assert.equal(isDatabaseUnavailable(undefined), false);
  });

  it('toProblem answers 503 Service unavailable for it', () => {
    const problem = toProblem(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    assert.equal(problem?.status, 503);
    assert.equal(problem?.title, 'Service unavailable');
    assert.doesNotMatch(problem!.detail, /ECONNREFUSED|127\.0\.0\.1/, 'no internals leak');
    assert.equal(toProblem(new Error('boom')), null);
  });
});
