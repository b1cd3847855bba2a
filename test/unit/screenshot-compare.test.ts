import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { differingBlocks } from '../support/screenshots';

/** A white picture with a dark "glyph" row, as text on the islands view is. */
function picture(width = 64, height = 64, paint: (x: number, y: number) => [number, number, number] | null = () => null): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      const glyph = y >= 8 && y < 12 && x % 3 === 0;
      const [r, g, b] = paint(x, y) ?? (glyph ? [30, 30, 30] : [255, 255, 255]);
      png.data.set([r, g, b, 255], at);
    }
  }
  return PNG.sync.write(png);
}

describe('screenshot comparison (the web view test)', () => {
  it('finds nothing between a picture and itself', () => {
    assert.deepEqual(differingBlocks(picture(), picture()), { differing: 0, total: 256, sizes: '64x64 vs 64x64' });
  });

  it('lets anti-aliasing through: single pixels a little lighter or darker at the edges of text', () => {
    const softened = picture(64, 64, (x, y) => (y === 12 && x % 3 === 0 ? [170, 170, 170] : null));
    assert.equal(differingBlocks(softened, picture()).differing, 0);
  });

  it('catches a recoloured area as large as a heat map cell, and a picture of another size', () => {
    const recoloured = picture(64, 64, (x, y) => (x >= 32 && x < 48 && y >= 32 && y < 48 ? [215, 48, 39] : null));
    assert.equal(differingBlocks(recoloured, picture()).differing, 16);
    assert.equal(differingBlocks(picture(64, 60), picture()).differing, Number.POSITIVE_INFINITY);
  });
});
