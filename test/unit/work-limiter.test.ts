import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { WorkLimiter, WorkTimeoutError } from '../../src/core/common/work-limiter';

/** Work that ends only when told to (a read stuck on a file system, until it comes back). */
function stuck(): { work: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<string>((resolve) => (finish = () => resolve('late')));
  return { work: () => done, finish };
}

const timedOut = (phase: 'queued' | 'running') => (error: unknown) => error instanceof WorkTimeoutError && error.phase === phase;

describe('WorkLimiter', () => {
  it('runs work within its bound and frees the slot', async () => {
    const limiter = new WorkLimiter({ total: 1, perKey: 1 });
    assert.equal(await limiter.run('alice', 1000, async () => 'done'), 'done');
    assert.equal(limiter.inUse, 0);
    await assert.rejects(
      limiter.run('alice', 1000, async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(limiter.inUse, 0);
  });

  it('stops waiting on overrunning work but keeps its slot taken until it really ends', async () => {
    const limiter = new WorkLimiter({ total: 2, perKey: 2 });
    const first = stuck();
    await assert.rejects(limiter.run('alice', 50, first.work), timedOut('running'));
    assert.equal(limiter.inUse, 1, 'the stuck work still holds its slot (and its thread)');
    first.finish();
    await new Promise((r) => setImmediate(r));
    assert.equal(limiter.inUse, 0);
  });

  it('stuck work takes at most `total` slots: later work waits its bound, then is refused as queued', async () => {
    const limiter = new WorkLimiter({ total: 2, perKey: 2 });
    const jams = [stuck(), stuck()];
    await Promise.all(jams.map((jam) => assert.rejects(limiter.run('alice', 30, jam.work), timedOut('running'))));
    const started = Date.now();
    let ran = false;
    await assert.rejects(
      limiter.run('bob', 80, async () => {
        ran = true;
      }),
      timedOut('queued'),
    );
    assert.equal(ran, false, 'no third piece of work started');
    assert.ok(Date.now() - started >= 70, 'it waited for a slot first');
    jams[0].finish();
    assert.equal(await limiter.run('bob', 1000, async () => 'bob ran'), 'bob ran');
    jams[1].finish();
  });

  it("one key's stuck work takes at most `perKey` slots; other keys keep running meanwhile", async () => {
    const limiter = new WorkLimiter({ total: 3, perKey: 1 });
    const jam = stuck();
    await assert.rejects(limiter.run('alice', 30, jam.work), timedOut('running'));
    await assert.rejects(
      limiter.run('alice', 30, async () => 'never'),
      timedOut('queued'),
    );
    assert.equal(await limiter.run('bob', 1000, async () => 'bob'), 'bob');
    assert.equal(await limiter.run('carol', 1000, async () => 'carol'), 'carol');
    jam.finish();
  });

  it('a freed slot goes to the first waiter that fits, not to one whose key is full', async () => {
    const limiter = new WorkLimiter({ total: 2, perKey: 1 });
    const alice = stuck();
    const bob = stuck();
    const aliceRun = limiter.run('alice', 5000, alice.work);
    const bobRun = limiter.run('bob', 5000, bob.work);
    const order: string[] = [];
    const aliceAgain = limiter.run('alice', 5000, async () => order.push('alice'));
    const carol = limiter.run('carol', 5000, async () => order.push('carol'));
    bob.finish();
    await bobRun;
    await carol;
    assert.deepEqual(order, ['carol'], 'alice is still at her limit, so carol goes first');
    alice.finish();
    await aliceRun;
    await aliceAgain;
    assert.deepEqual(order, ['carol', 'alice']);
    assert.equal(limiter.inUse, 0);
  });
});
