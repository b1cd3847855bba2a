import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { WorkQueue } from '../src/runtime/workqueue.js';

describe('work queue', () => {
  it('queues a key once, in order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.length, 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
  });

  it('never hands a key to two workers: an add while in flight comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'not queued while in flight');
    q.done(key!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('wakes a waiting worker on add, and releases waiters with undefined on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    assert.equal(await waiting, 'x');
    const idle = q.get();
    q.shutdown();
    assert.equal(await idle, undefined);
    q.add('y');
    assert.equal(q.length, 0, 'no adds after shutdown');
  });

  it('backs off exponentially per key until forgotten', async () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 35 });
    assert.deepEqual([q.addRateLimited('k'), q.addRateLimited('j'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')], [10, 10, 20, 35, 35]);
    assert.equal(q.retries('k'), 4);
    q.forget('k');
    assert.equal(q.retries('k'), 0);
    assert.equal(q.length, 0, 'delayed, not queued yet');
    assert.equal(q.idle, false, 'a pending delayed add is not idle');
    const t0 = Date.now();
    // The queue's timers are unref'd (a queue never keeps a process alive): hold the loop open meanwhile.
    const hold = setTimeout(() => undefined, 1000);
    assert.equal(await q.get(), 'k');
    clearTimeout(hold);
    assert.ok(Date.now() - t0 >= 8, 'came back after its delay');
    q.shutdown();
  });
});
