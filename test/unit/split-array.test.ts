import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partSpec, splitJobState, type PartState } from '../../src/core/jobs/split-array';

const part = (state: PartState['state'], over: Partial<PartState> = {}): PartState => ({ state, startedAt: null, endedAt: null, exitCode: null, ...over });
const at = (s: number) => new Date(Date.UTC(2026, 10, 25, 12, 0, s));

describe('split arrays: one job for the user, parts on several islands', () => {
  it("a part's spec narrows the array to its tasks and its partition, keeping everything else", () => {
    const parent = {
      jobName: 'sweep',
      cpusPerTask: 2,
      partition: 'debug',
      array: { expression: '0-9%4', taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], maxRunning: 4 },
    };
    const spec = partSpec(parent, { island: 'b', partition: 'short', taskIds: [6, 7, 8, 9], expression: '6-9%2', maxRunning: 2 });
    assert.deepEqual(spec, { jobName: 'sweep', cpusPerTask: 2, partition: 'short', array: { expression: '6-9%2', taskIds: [6, 7, 8, 9], maxRunning: 2 } });
    const unthrottled = partSpec(parent, { island: 'a', partition: 'debug', taskIds: [0, 1], expression: '0-1', maxRunning: null });
    assert.equal(unthrottled.array?.maxRunning, undefined);
  });

  it('runs while any part runs, waits while any part waits, and counts finished parts', () => {
    assert.equal(splitJobState([part('RUNNING'), part('ACCEPTED')]).state, 'RUNNING');
    const waiting = splitJobState([part('COMPLETED', { endedAt: at(9) }), part('DISPATCHING')]);
    assert.equal(waiting.state, 'PENDING');
    assert.equal(waiting.reason, '1 of 2 parts finished');
    assert.equal(waiting.endedAt, null, 'not ended while a part waits');
  });

  it('ends when every part ended: completed only if all completed, with the first start and last end', () => {
    const done = splitJobState([
      part('COMPLETED', { startedAt: at(2), endedAt: at(9), exitCode: 0 }),
      part('COMPLETED', { startedAt: at(1), endedAt: at(12), exitCode: 0 }),
    ]);
    assert.deepEqual(done, { state: 'COMPLETED', reason: '2 of 2 parts finished', startedAt: at(1), endedAt: at(12), exitCode: 0 });
    const failed = splitJobState([part('COMPLETED', { exitCode: 0, endedAt: at(3) }), part('FAILED', { exitCode: 3, endedAt: at(4) })]);
    assert.equal(failed.state, 'FAILED');
    assert.equal(failed.exitCode, 3);
    assert.equal(splitJobState([part('CANCELLED', { endedAt: at(3) }), part('CANCELLED', { endedAt: at(3) })]).state, 'CANCELLED');
    assert.equal(splitJobState([part('REJECTED', { endedAt: at(3) }), part('COMPLETED', { endedAt: at(3) })]).state, 'FAILED', 'a refused part fails the job');
  });

  it('has no state without parts', () => {
    assert.throws(() => splitJobState([]), RangeError);
  });
});
