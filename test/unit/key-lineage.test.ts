import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { keyExpiry, mintingCredential } from '../../src/core/auth/key-lineage';

const NOW = new Date('2030-01-01T00:00:00Z');
const HOUR = 3600;
const YEAR = 365 * 24 * HOUR;
const inSeconds = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('mintingCredential', () => {
  it('tells the bootstrap key, an API key, a login session and a delegation apart', () => {
    assert.deepEqual(mintingCredential('bootstrap'), { kind: 'bootstrap' });
    assert.deepEqual(mintingCredential('8d8e9c4e-2f1b-4c44-9d55-2b0c1f3f0a11'), { kind: 'api_key', id: '8d8e9c4e-2f1b-4c44-9d55-2b0c1f3f0a11' });
    assert.deepEqual(mintingCredential('session:5a7e'), { kind: 'session', id: '5a7e' });
    assert.deepEqual(mintingCredential('delegation:d1:8d8e9c4e'), { kind: 'delegation' });
  });
});

describe('keyExpiry', () => {
  it('a 1-hour parent cannot mint a 1-year key: the request is refused, naming the most it may ask', () => {
    const decision = keyExpiry(NOW, { requestedSeconds: YEAR, defaultSeconds: null }, inSeconds(HOUR));
    assert.ok('refused' in decision);
    assert.match(decision.refused, /at most 3600 seconds/);
    assert.match(decision.refused, /2030-01-01T01:00:00\.000Z/);
  });

  it("a lifetime within the parent's is granted as asked, up to exactly the parent's end", () => {
    assert.deepEqual(keyExpiry(NOW, { requestedSeconds: 1800, defaultSeconds: null }, inSeconds(HOUR)), { expiresAt: inSeconds(1800) });
    assert.deepEqual(keyExpiry(NOW, { requestedSeconds: HOUR, defaultSeconds: null }, inSeconds(HOUR)), { expiresAt: inSeconds(HOUR) });
    assert.ok('refused' in keyExpiry(NOW, { requestedSeconds: HOUR + 1, defaultSeconds: null }, inSeconds(HOUR)));
  });

  it("a lifetime not asked is the default, cut to the parent's end", () => {
    assert.deepEqual(keyExpiry(NOW, { defaultSeconds: 30 * 24 * HOUR }, inSeconds(HOUR)), { expiresAt: inSeconds(HOUR) });
    assert.deepEqual(keyExpiry(NOW, { defaultSeconds: 600 }, inSeconds(HOUR)), { expiresAt: inSeconds(600) });
  });

  it('"no expiry" under a temporary parent is the parent\'s expiry', () => {
    assert.deepEqual(keyExpiry(NOW, { defaultSeconds: null }, inSeconds(HOUR)), { expiresAt: inSeconds(HOUR) });
  });

  it('a parent without expiry bounds nothing', () => {
    assert.deepEqual(keyExpiry(NOW, { requestedSeconds: YEAR, defaultSeconds: null }, null), { expiresAt: inSeconds(YEAR) });
    assert.deepEqual(keyExpiry(NOW, { defaultSeconds: null }, null), { expiresAt: null });
    assert.deepEqual(keyExpiry(NOW, { defaultSeconds: 600 }, null), { expiresAt: inSeconds(600) });
  });
});
