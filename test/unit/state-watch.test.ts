import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Probe, StateWatch, statesFingerprint, WatchLane } from '../../src/core/dispatch/state-watch';

const limits = { changedPerTick: 2, refreshesPerTick: 1, pendingRefreshMs: 30_000 };
const probe = (key: string, state: string | null, extra: Partial<Probe> = {}): Probe => ({
  key,
  fingerprint: state === null ? null : statesFingerprint([{ jobId: Number(key), state }]),
  pending: state === 'PENDING',
  matchesStored: false,
  ...extra,
});

describe('StateWatch: which full records a by-id follower fetches', () => {
  test('a job first seen is fetched unless its state already matches the stored one; then only when its states move', () => {
    const watch = new StateWatch(limits);
    assert.deepEqual(watch.plan([probe('1', 'RUNNING'), probe('2', 'RUNNING', { matchesStored: true })], 0), { fetch: ['1'], missing: [] });
    watch.recorded('1', probe('1', 'RUNNING').fingerprint!, 0);
    assert.deepEqual(watch.plan([probe('1', 'RUNNING'), probe('2', 'RUNNING', { matchesStored: true })], 1000), { fetch: [], missing: [] });
    assert.deepEqual(watch.plan([probe('1', 'COMPLETED'), probe('2', 'RUNNING')], 2000).fetch, ['1']);
  });

  test('jobs SLURM no longer lists are reported missing, not fetched', () => {
    const watch = new StateWatch(limits);
    assert.deepEqual(watch.plan([probe('1', null)], 0), { fetch: [], missing: ['1'] });
  });

  test('changes beyond the cap wait for the next tick; they are not lost', () => {
    const watch = new StateWatch(limits);
    const probes = ['1', '2', '3'].map((k) => probe(k, 'RUNNING'));
    const first = watch.plan(probes, 0).fetch;
    assert.deepEqual(first, ['1', '2']);
    for (const key of first) watch.recorded(key, probes[Number(key) - 1].fingerprint!, 0);
    assert.deepEqual(watch.plan(probes, 1000).fetch, ['3']);
  });

  test('a pending job whose record is old is refreshed (its reason may change), oldest first, capped; a running one is not', () => {
    const watch = new StateWatch(limits);
    for (const [key, state, at] of [
      ['1', 'PENDING', 5000],
      ['2', 'PENDING', 1000],
      ['3', 'RUNNING', 0],
    ] as const)
      watch.recorded(key, probe(key, state).fingerprint!, at);
    const probes = [probe('1', 'PENDING'), probe('2', 'PENDING'), probe('3', 'RUNNING')];
    assert.deepEqual(watch.plan(probes, 20_000).fetch, []);
    assert.deepEqual(watch.plan(probes, 40_000).fetch, ['2']);
    // matched but never read: refreshed before anything read
    watch.plan([probe('4', 'PENDING', { matchesStored: true })], 40_000);
    assert.deepEqual(watch.plan([...probes, probe('4', 'PENDING')], 40_000).fetch, ['4']);
  });

  test('an array: the fingerprint covers every task, in any order SLURM lists them', () => {
    const a = statesFingerprint([
      { jobId: 7, arrayTaskId: 1, state: 'PENDING' },
      { jobId: 8, arrayTaskId: 2, state: 'RUNNING' },
    ]);
    const b = statesFingerprint([
      { jobId: 8, arrayTaskId: 2, state: 'RUNNING' },
      { jobId: 7, arrayTaskId: 1, state: 'PENDING' },
    ]);
    assert.equal(a, b);
    assert.notEqual(
      a,
      statesFingerprint([
        { jobId: 7, arrayTaskId: 1, state: 'PENDING' },
        { jobId: 8, arrayTaskId: 2, state: 'COMPLETED' },
      ]),
    );
  });

  test('forget and retain drop jobs no longer followed', () => {
    const watch = new StateWatch(limits);
    for (const key of ['1', '2', '3']) watch.recorded(key, 'x', 0);
    watch.forget(['1']);
    watch.retain(new Set(['2']));
    assert.equal(watch.size, 1);
  });
});

describe("WatchLane: an island's jobs read a page a tick", () => {
  test('full pages move the cursor; a short page ends the pass, which forgets jobs it did not see', () => {
    const lane = new WatchLane(2, limits);
    for (const key of ['1', '2', '3', '9']) lane.watch.recorded(key, 'x', 0);
    assert.equal(lane.advance(['1', '2']), null);
    assert.equal(lane.cursor, '2');
    assert.deepEqual([...lane.advance(['3'])!], ['1', '2', '3']);
    assert.equal(lane.cursor, '0');
    assert.equal(lane.watch.size, 3, 'job 9 was not seen in the pass');
    assert.deepEqual([...lane.advance([])!], [], 'the next pass starts empty');
  });
});
