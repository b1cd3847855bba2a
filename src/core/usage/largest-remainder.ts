/**
 * Splits an integer amount between keys in proportion to integer weights so that the parts sum to
 * EXACTLY the amount (Hamilton / largest-remainder method): everyone gets the floor of their exact
 * share, and the units left over go one each to the largest fractional remainders. Ties go to the
 * smaller key (code-unit order), so the result does not depend on the order of the input.
 */
export function apportion<K extends string>(total: bigint, weights: ReadonlyArray<readonly [K, bigint]>): Map<K, bigint> {
  if (total < 0n) throw new RangeError(`cannot apportion a negative amount (${total})`);
  let sum = 0n;
  const seen = new Set<K>();
  for (const [key, weight] of weights) {
    if (weight < 0n) throw new RangeError(`negative weight for ${key}`);
    if (seen.has(key)) throw new RangeError(`duplicate key ${key}`);
    seen.add(key);
    sum += weight;
  }
  if (sum === 0n) throw new RangeError('cannot apportion over weights that sum to zero');
  const parts = weights.map(([key, weight]) => ({ key, share: (total * weight) / sum, remainder: (total * weight) % sum }));
  let leftover = total - parts.reduce((acc, p) => acc + p.share, 0n);
  const byRemainder = [...parts].sort((a, b) =>
    a.remainder !== b.remainder ? (a.remainder > b.remainder ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  // leftover < number of keys with a non-zero remainder, so only those receive a unit.
  for (const part of byRemainder) {
    if (leftover === 0n) break;
    part.share += 1n;
    leftover -= 1n;
  }
  return new Map(parts.map((p) => [p.key, p.share]));
}

/** `total` spread over `n` slots as evenly as integers allow: the first `total % n` get one more. */
export function splitEvenly(total: number, n: number): number[] {
  if (n <= 0) return [];
  const base = Math.floor(total / n);
  const extra = total - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}
