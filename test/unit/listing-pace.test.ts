import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  afterRead,
  BURST_LISTING_DUTY_CYCLE,
  LISTING_DUTY_CYCLE,
  mayReadNow,
  MAX_BURST_DEFER_MS,
  MAX_LISTING_BURST_DEFER_MS,
} from '../../src/core/dispatch/listing-pace';

/** The pace of a follower whose last read started at `listedAt` and took `readMs`. */
function paceAfter(listedAt: number, readMs: number) {
  return { listedAt, ...afterRead(listedAt, listedAt + readMs) };
}

describe('listing pace', () => {
  it('spaces reads by their own length: a read uses at most a quarter of the time', () => {
    const pace = paceAfter(0, 1000);
    assert.equal(pace.notBefore, 1000 / LISTING_DUTY_CYCLE);
    assert.equal(mayReadNow(pace, 3999, false, 'listing'), false);
    assert.equal(mayReadNow(pace, 4000, false, 'listing'), true);
  });

  it('a cheap read of states by id waits out a dispatch burst for at most MAX_BURST_DEFER_MS', () => {
    const pace = paceAfter(0, 50);
    assert.equal(mayReadNow(pace, 1000, true, 'states'), false);
    assert.equal(mayReadNow(pace, MAX_BURST_DEFER_MS - 1, true, 'states'), false);
    assert.equal(mayReadNow(pace, MAX_BURST_DEFER_MS, true, 'states'), true);
    assert.equal(mayReadNow(pace, 1000, false, 'states'), true, 'once the burst has passed, at once');
  });

  it('a listing of the whole queue, cheap before the burst, waits for it to pass for up to MAX_LISTING_BURST_DEFER_MS', () => {
    const pace = paceAfter(0, 50);
    assert.equal(mayReadNow(pace, MAX_BURST_DEFER_MS, true, 'listing'), false, 'every job the burst submits is in it');
    assert.equal(mayReadNow(pace, MAX_LISTING_BURST_DEFER_MS - 1, true, 'listing'), false);
    assert.equal(mayReadNow(pace, MAX_LISTING_BURST_DEFER_MS, true, 'listing'), true, 'job states lag a sustained burst by 30 s at most');
    assert.equal(mayReadNow(pace, 1000, false, 'listing'), true, 'once the burst has passed, at once');
  });

  it('an expensive read (a big queue listed whole) takes at most a twentieth of a sustained burst', () => {
    const pace = paceAfter(0, 2000);
    const deferred = 2000 / BURST_LISTING_DUTY_CYCLE;
    assert.equal(deferred, 40_000);
    for (const kind of ['states', 'listing'] as const) {
      assert.equal(mayReadNow(pace, MAX_LISTING_BURST_DEFER_MS, true, kind), false, `${kind}: not after a cheap read's wait`);
      assert.equal(mayReadNow(pace, deferred - 1, true, kind), false);
      assert.equal(mayReadNow(pace, deferred, true, kind), true);
      assert.equal(mayReadNow(pace, 8000, false, kind), true, 'without a burst only the quarter applies');
    }
  });

  it('before the first read nothing holds a quiet island back', () => {
    assert.equal(mayReadNow({ notBefore: 0, listedAt: 0, lastReadMs: 0 }, 0, false, 'listing'), true);
  });
});
