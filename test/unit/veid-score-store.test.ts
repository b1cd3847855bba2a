import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBech32 } from '@cosmjs/encoding';
import { decodeStoredScore, veidScoreKey } from '../../src/adapters/chain/veid-score-store';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("x/veid's stored score (read through the ABCI store query)", () => {
  it('keys a score by 0x08 and the 20 address bytes', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
    assert.deepEqual(veidScoreKey(toBech32('ve', bytes)), Uint8Array.from([0x08, ...bytes]));
  });

  it("decodes the keeper's scoreStore JSON; an empty value is no score", () => {
    const stored = decodeStoredScore(
      json({ account_address: 've1x', score: 72, status: 'verified', model_version: 'm1', computed_at: 10, block_height: 3 }),
      100,
    );
    assert.deepEqual(stored, { accountAddress: 've1x', score: 72, status: 'verified', modelVersion: 'm1', computedAt: 10, expiresAt: null });
    assert.equal(decodeStoredScore(new Uint8Array(), 100), null);
  });

  it("a score past expires_at reads as expired, as the keeper's GetScore decides", () => {
    const value = json({ account_address: 've1x', score: 90, status: 'verified', model_version: 'm1', computed_at: 10, expires_at: 50, block_height: 3 });
    assert.equal(decodeStoredScore(value, 50)?.status, 'verified');
    assert.equal(decodeStoredScore(value, 51)?.status, 'expired');
  });
});
