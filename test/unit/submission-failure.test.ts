import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { classifySubmissionFailure, gaveUpReason, nextSubmitRetry } from '../../src/core/dispatch/submission-failure';
import { InvalidSlurmUserError } from '../../src/core/slurm/posix-user';
import { SlurmRejectedError, SlurmUnavailableError, SubmissionImpossibleError } from '../../src/core/slurm/slurm-client.port';

describe('classifySubmissionFailure', () => {
  it('SLURM refusing the request rejects the job', () => {
    assert.deepEqual(classifySubmissionFailure(new SlurmRejectedError('Invalid partition name specified', 2000)), {
      kind: 'rejected',
      reason: 'SLURM refused the job: Invalid partition name specified',
    });
  });
  it('a missing directory or account, and a forbidden user name, can never succeed', () => {
    assert.equal(classifySubmissionFailure(new SubmissionImpossibleError('the working directory /x cannot be entered')).kind, 'impossible');
    assert.equal(classifySubmissionFailure(new InvalidSlurmUserError('refusing to act as privileged user "root"')).kind, 'impossible');
  });
  it('an unreachable island is transient and keeps the settle time of a submission that may still land', () => {
    const failure = classifySubmissionFailure(new SlurmUnavailableError('connect ECONNREFUSED', { settlesAt: 1234 }));
    assert.deepEqual(failure, { kind: 'transient', reason: 'connect ECONNREFUSED', unreachable: true, settlesAt: 1234 });
  });
  it('anything unexpected is transient too (the attempt cap ends it)', () => {
    assert.deepEqual(classifySubmissionFailure(new RangeError('boom')), { kind: 'transient', reason: 'boom', unreachable: false });
    assert.equal(classifySubmissionFailure('odd').kind, 'transient');
  });
});

describe('nextSubmitRetry', () => {
  const policy = { baseDelayMs: 2000, maxDelayMs: 10_000, maxAttempts: 5 };
  it('doubles the delay after each failure, up to the maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => nextSubmitRetry(n, policy)),
      [
        { retry: true, afterMs: 2000 },
        { retry: true, afterMs: 4000 },
        { retry: true, afterMs: 8000 },
        { retry: true, afterMs: 10_000 },
      ],
    );
  });
  it('gives up once maxAttempts submissions failed', () => {
    assert.deepEqual(nextSubmitRetry(5, policy), { retry: false });
    assert.deepEqual(nextSubmitRetry(6, policy), { retry: false });
    assert.deepEqual(nextSubmitRetry(1, { ...policy, maxAttempts: 1 }), { retry: false });
  });
  it('never overflows for large attempt counts', () => {
    assert.deepEqual(nextSubmitRetry(4000, { ...policy, maxAttempts: 1_000_000 }), { retry: true, afterMs: 10_000 });
  });
  it('says how many attempts were made and the last reason', () => {
    assert.equal(gaveUpReason(3, 'ssh: timed out'), 'gave up after 3 failed submission attempts; last: ssh: timed out');
    assert.equal(gaveUpReason(1, null), 'gave up after 1 failed submission attempt');
  });
});
