import { ConfigError } from '../config/config-error';
import { priceAmount, scalePrice } from './gas-price-store';

/** How to reach the VirtEngine chain. `rpcUrl` null: no chain (the development identity file stands in). */
export interface ChainSettings {
  rpcUrl: string | null;
  chainId: string;
  /** Account address prefix: the chain's `ve`; some of its tooling uses `virtengine` or `virt`. */
  bech32Prefix: string;
  /** The billing denom (x/hpc prices in `uvirt`, escrows use `uve`). */
  denom: string;
  /**
   * Fee price per gas unit, e.g. `0.025uve`, used when the chain states no current minimum (see
   * gas-price-store.ts); otherwise the chain's minimum (with next-block headroom) is paid.
   */
  gasPrice: string;
  /** The most we pay per gas unit (same denom): above it nothing is signed, transactions wait. */
  gasPriceMax: string;
  /** Simulated gas times this is the gas limit. */
  gasMultiplier: number;
  requestTimeoutMs: number;
  /** How often a broadcast looks for its transaction in a block. */
  broadcastPollMs: number;
  /**
   * What a node that refuses to serve x/hpc's job records (store queries under `/store/hpc/`)
   * means for this process. Either way chain ingress and job reports wait and retry, and the
   * archipelago_chain_job_records_readable gauge shows 0; `not-ready` also fails readiness,
   * `degraded` only reports it in the readiness answer.
   */
  jobRecordsUnreadable: 'not-ready' | 'degraded';
}

type Env = Record<string, string | undefined>;

export function chainSettings(env: Env): ChainSettings {
  const rpcUrl = env.CHAIN_RPC_URL?.trim() || null;
  if (rpcUrl !== null && !/^https?:\/\/[^\s]+$/.test(rpcUrl)) throw new ConfigError('CHAIN_RPC_URL', 'must be an http(s) URL of a CometBFT RPC endpoint');
  const prefix = env.CHAIN_BECH32_PREFIX || 've';
  if (!/^[a-z]{1,20}$/.test(prefix)) throw new ConfigError('CHAIN_BECH32_PREFIX', 'must be 1-20 lower-case letters');
  const chainId = env.CHAIN_ID || 'virtengine-1';
  if (!/^[\w.-]{1,50}$/.test(chainId)) throw new ConfigError('CHAIN_ID', 'must be 1-50 letters, digits, . _ -');
  const denom = env.CHAIN_DENOM || 'uve';
  if (!/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(denom)) throw new ConfigError('CHAIN_DENOM', 'is not a Cosmos denom');
  const gasPrice = env.CHAIN_GAS_PRICE || `0.025${denom}`;
  if (!/^\d+(\.\d+)?[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(gasPrice)) throw new ConfigError('CHAIN_GAS_PRICE', 'must look like 0.025uve');
  const gasDenom = gasPrice.replace(/^\d+(\.\d+)?/, '');
  const gasPriceMax = env.CHAIN_GAS_PRICE_MAX || `${scalePrice(priceAmount(gasPrice), 10)}${gasDenom}`;
  if (!/^\d+(\.\d+)?[a-zA-Z]/.test(gasPriceMax) || gasPriceMax.replace(/^\d+(\.\d+)?/, '') !== gasDenom) {
    throw new ConfigError('CHAIN_GAS_PRICE_MAX', `must look like 0.25${gasDenom} (the denom of CHAIN_GAS_PRICE)`);
  }
  const multiplierText = env.CHAIN_GAS_MULTIPLIER || '1.3';
  const gasMultiplier = Number(multiplierText);
  if (!/^\d+(\.\d+)?$/.test(multiplierText) || gasMultiplier < 1 || gasMultiplier > 10) {
    throw new ConfigError('CHAIN_GAS_MULTIPLIER', 'must be a number between 1 and 10');
  }
  const jobRecordsUnreadable = env.CHAIN_JOB_RECORDS_UNREADABLE || 'not-ready';
  if (jobRecordsUnreadable !== 'not-ready' && jobRecordsUnreadable !== 'degraded') {
    throw new ConfigError('CHAIN_JOB_RECORDS_UNREADABLE', 'must be not-ready or degraded');
  }
  return {
    rpcUrl,
    chainId,
    bech32Prefix: prefix,
    denom,
    gasPrice,
    gasPriceMax,
    gasMultiplier,
    requestTimeoutMs: positive(env, 'CHAIN_REQUEST_TIMEOUT_MS', 5000),
    broadcastPollMs: positive(env, 'CHAIN_BROADCAST_POLL_MS', 1000),
    jobRecordsUnreadable,
  };
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (!raw) return fallback;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1) throw new ConfigError(name, 'must be a positive integer (milliseconds)');
  return Number(raw);
}
