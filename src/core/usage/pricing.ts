import type { ResourceSeconds } from './usage-metrics';

/**
 * Prices of an offering, as the chain's HPCOffering carries them: decimal strings per hour, in the
 * billing denom's base unit (micro-denom, e.g. uvirt), at most 6 decimals. GPU prices may differ
 * per model; `default` covers models not listed.
 */
export interface OfferingPrices {
  denom: string;
  nodeHour: string;
  cpuCoreHour: string;
  memoryGbHour: string;
  gpuHour: { default: string } & Record<string, string>;
  /** Charged at least (base units, integer string). */
  minimumCharge: string;
}

export const PRICING_VERSION = 'archipelago.pricing/v1';

const SCALE = 1_000_000n;
const DECIMAL = /^(0|[1-9]\d{0,17})(?:\.(\d{1,6}))?$/;

/** A price string in millionths of a base unit. */
export function parsePrice(value: string, what = 'price'): bigint {
  const m = DECIMAL.exec(value);
  if (!m) throw new RangeError(`${what}: expected a non-negative decimal with at most 6 decimals, got ${JSON.stringify(value)}`);
  return BigInt(m[1]) * SCALE + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** Validates every price once (e.g. when configuration is loaded). */
export function checkPrices(prices: OfferingPrices): void {
  for (const key of ['nodeHour', 'cpuCoreHour', 'memoryGbHour', 'minimumCharge'] as const) parsePrice(prices[key], key);
  if (!/^\d+$/.test(prices.minimumCharge)) throw new RangeError('minimumCharge must be an integer');
  for (const [model, price] of Object.entries(prices.gpuHour)) parsePrice(price, `gpuHour.${model}`);
  if (prices.gpuHour.default === undefined) throw new RangeError('gpuHour.default is required');
}

/**
 * Cost of resource-seconds at an offering's hourly prices, in integer base units: the exact sum
 *   node-s × node-hour + cpu-core-s × cpu-core-hour + GPU-s × gpu-hour(model) + MiB-s / 1024 × GB-hour
 * divided by 3600 s/h, rounded UP once (never per term), then at least the minimum charge. Usage
 * that is all zero (a job that never started) costs nothing, not the minimum.
 */
export function costOf(usage: ResourceSeconds, prices: OfferingPrices): bigint {
  const gpuTerms = Object.entries(usage.gpuSeconds).map(([model, seconds]) => BigInt(seconds) * parsePrice(prices.gpuHour[model] ?? prices.gpuHour.default));
  // common denominator: 3600 s/h × 1024 MiB/GiB × 1e6 price scale
  const numerator =
    1024n *
      (BigInt(usage.nodeSeconds) * parsePrice(prices.nodeHour) +
        BigInt(usage.cpuCoreSeconds) * parsePrice(prices.cpuCoreHour) +
        gpuTerms.reduce((a, b) => a + b, 0n)) +
    BigInt(usage.memoryMbSeconds) * parsePrice(prices.memoryGbHour);
  if (numerator === 0n) return 0n;
  const denominator = 3600n * 1024n * SCALE;
  const cost = (numerator + denominator - 1n) / denominator;
  const minimum = BigInt(prices.minimumCharge);
  return cost < minimum ? minimum : cost;
}
