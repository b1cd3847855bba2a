import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBox } from '../../src/adapters/secrets/secret-box';

describe('secret box: envelope encryption at rest', () => {
  const secret = randomBytes(32);

  it('round-trips, and the sealed bytes do not contain the secret', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(secret, 'island:a:jwt');
    assert.ok(!sealed.includes(secret));
    assert.deepEqual(box.open(sealed, 'island:a:jwt'), secret);
    assert.notDeepEqual(box.seal(secret, 'island:a:jwt'), sealed, 'a fresh IV each time');
  });

  it('refuses another context, a flipped bit and an unknown key', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(secret, 'island:a:jwt');
    assert.throws(() => box.open(sealed, 'island:b:jwt'), /failed authentication/);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    assert.throws(() => box.open(tampered, 'island:a:jwt'), /failed authentication/);
    assert.throws(() => new SecretBox([randomBytes(32)]).open(sealed, 'island:a:jwt'), /not configured/);
    assert.throws(() => new SecretBox([randomBytes(16)]), /32 bytes/);
  });

  it('rotation: a new current key still opens what the old one sealed, and flags it for re-sealing', () => {
    const oldKey = randomBytes(32);
    const sealedOld = new SecretBox([oldKey]).seal(secret, 'ctx');
    const rotated = new SecretBox([randomBytes(32), oldKey]);
    assert.deepEqual(rotated.open(sealedOld, 'ctx'), secret);
    assert.equal(rotated.isStale(sealedOld), true);
    assert.equal(rotated.isStale(rotated.seal(secret, 'ctx')), false);
  });
});
