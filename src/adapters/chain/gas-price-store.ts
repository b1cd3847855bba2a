/**
 * VirtEngine's adaptive minimum gas price (app/gaspricing at 4954b9cc): after every block the
 * app raises or lowers it with block utilization and congestion, keeps it in the `gaspricing`
 * store under key 0x02 as the keeper's `State` JSON (`current_min_gas_prices`, sdk.DecCoins),
 * and its AdaptiveGasPriceDecorator refuses in CheckTx (and mempool re-checks) a fee below it
 * ("insufficient fee: min gas prices …"). There is no query service for it: the store is read.
 */
export const GAS_PRICING_STORE_PATH = '/store/gaspricing/key';
export const GAS_PRICING_STATE_KEY = Uint8Array.of(0x02);

/** sdk.LegacyDec precision. */
const DECIMALS = 18;
const ONE = 10n ** BigInt(DECIMALS);

/**
 * One block can raise the minimum by MaxChangeBPS (20 %) and, congested, by
 * CongestionMultiplierBPS (15 %) more (gaspricing DefaultParams): paying the current minimum
 * times 1.38 keeps a transaction valid when the mempool re-checks it after the next block.
 */
const NEXT_BLOCK_HEADROOM_PERCENT = 138n;

/**
 * The current minimum price of one gas unit in `denom` (decimal text, e.g. "0.030000000000000000"),
 * or null when the chain stores none for it (no state yet, or another fee denom): the node's
 * own configured min-gas-prices then apply, which only the operator knows.
 */
export function currentMinGasPrice(value: Uint8Array, denom: string): string | null {
  if (value.length === 0) return null;
  const state = JSON.parse(new TextDecoder().decode(value)) as { current_min_gas_prices?: Array<{ denom?: string; amount?: string }> };
  const price = (state.current_min_gas_prices ?? []).find((c) => c.denom === denom)?.amount;
  return typeof price === 'string' && /^\d+(\.\d+)?$/.test(price) ? price : null;
}

function atomics(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole) * ONE + BigInt(fraction.slice(0, DECIMALS).padEnd(DECIMALS, '0'));
}

function decimalText(value: bigint): string {
  const fraction = (value % ONE).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return fraction ? `${value / ONE}.${fraction}` : `${value / ONE}`;
}

export type GasPriceDecision =
  | { kind: 'pay'; price: string; source: 'chain' | 'configured' }
  /** The chain asks more than the ceiling: nothing is signed until it falls. */
  | { kind: 'hold'; chainMinimum: string };

/**
 * The price to sign at: the chain's current minimum with next-block headroom (capped at the
 * ceiling when the minimum itself is below it), else the configured price when the chain states none.
 */
export function decideGasPrice(chainMinimum: string | null, configured: string, ceiling: string): GasPriceDecision {
  if (chainMinimum === null) return { kind: 'pay', price: configured, source: 'configured' };
  const minimum = atomics(chainMinimum);
  const max = atomics(ceiling);
  if (minimum > max) return { kind: 'hold', chainMinimum: decimalText(minimum) };
  const withHeadroom = (minimum * NEXT_BLOCK_HEADROOM_PERCENT) / 100n;
  return { kind: 'pay', price: decimalText(withHeadroom < max ? withHeadroom : max), source: 'chain' };
}

/** "0.025uve" → "0.025". */
export function priceAmount(gasPrice: string): string {
  return /^\d+(\.\d+)?/.exec(gasPrice)![0];
}

/** `price` × `factor` as decimal text (for a default ceiling). */
export function scalePrice(price: string, factor: number): string {
  return decimalText(atomics(price) * BigInt(factor));
}
