import { PNG } from 'pngjs';

/**
 * Compares two screenshots the way a reader would: both are cut into small blocks and a block
 * differs when its mean colour moved by more than `tolerance` (0-255) in any channel. Anti-aliasing
 * and sub-pixel text rendering (another Chromium build, another font hinting) move a block's mean
 * a little; a missing, moved or recoloured part of the picture moves it a lot.
 */
export function differingBlocks(actual: Buffer, expected: Buffer, block = 4, tolerance = 40): { differing: number; total: number; sizes: string } {
  const a = PNG.sync.read(actual);
  const b = PNG.sync.read(expected);
  const sizes = `${a.width}x${a.height} vs ${b.width}x${b.height}`;
  if (a.width !== b.width || a.height !== b.height) return { differing: Number.POSITIVE_INFINITY, total: 0, sizes };
  let differing = 0;
  let total = 0;
  for (let y0 = 0; y0 < a.height; y0 += block) {
    for (let x0 = 0; x0 < a.width; x0 += block) {
      const sums = [0, 0, 0, 0, 0, 0];
      let count = 0;
      for (let y = y0; y < Math.min(y0 + block, a.height); y++) {
        for (let x = x0; x < Math.min(x0 + block, a.width); x++) {
          const at = (y * a.width + x) * 4;
          for (let c = 0; c < 3; c++) {
            sums[c] += a.data[at + c];
            sums[c + 3] += b.data[at + c];
          }
          count++;
        }
      }
      total++;
      if ([0, 1, 2].some((c) => Math.abs(sums[c] - sums[c + 3]) / count > tolerance)) differing++;
    }
  }
  return { differing, total, sizes };
}
