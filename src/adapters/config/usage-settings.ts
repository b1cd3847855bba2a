import { existsSync, readFileSync } from 'node:fs';
import { readSecretFile } from '../secrets/sealed-file';
import { ConfigError } from '../../adapters/config/config-error';
import { checkPrices, type OfferingPrices } from '../../core/usage/pricing';
import { DEFAULT_REWARD_SHARES, type RewardShares } from '../../core/usage/rewards';

export interface UsageSettings {
  /** PEM of the provider key that signs usage records; null = accounting off (nothing is recorded unsigned). */
  signingKeyPem: string | null;
  /** How often the worker looks for ended jobs to account. */
  intervalMs: number;
  /** A job whose accounting is still missing this long after it ended is given up on (and noted). */
  giveUpAfterSeconds: number;
  /** Offering prices: per island, else the default. */
  prices: { default: OfferingPrices; islands: Record<string, OfferingPrices> };
  shares: RewardShares;
  epochSeconds: number;
  /**
   * Holds each accounting transaction open this long before it commits (default 0). For crash
   * tests only: it makes "the worker died inside the transaction" something a test can aim at.
   */
  commitDelayMs: number;
}

/**
 * Prices in micro-denom per hour, shaped like the chain's billing formula v1.0.0 (cpu 0.05, memory
 * 0.01 per GB, node 0.50, GPU 1.00 per hour, minimum 1000) but scaled to whole denom units, since
 * the chain's rates per base unit make every real job cost the minimum.
 */
export const DEFAULT_PRICES: OfferingPrices = {
  denom: 'uvirt',
  nodeHour: '500000',
  cpuCoreHour: '50000',
  memoryGbHour: '10000',
  gpuHour: { default: '1000000', 'nvidia-a100': '3000000', 'nvidia-v100': '2000000', 'nvidia-t4': '500000' },
  minimumCharge: '1000',
};

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, `an integer between ${min} and ${max}`);
  return Number(raw);
}

function readFile(name: string, file: string): string {
  if (!existsSync(file)) throw new ConfigError(name, `file ${file} does not exist`);
  return readFileSync(file, 'utf8');
}

function readSecret(name: string, file: string, env: Env): string {
  if (!existsSync(file)) throw new ConfigError(name, `file ${file} does not exist`);
  return readSecretFile(file, env).toString('utf8');
}

function prices(env: Env): UsageSettings['prices'] {
  const name = 'ARCHIPELAGO_USAGE_PRICES_FILE';
  const file = env[name];
  if (!file) return { default: DEFAULT_PRICES, islands: {} };
  let parsed: { default?: OfferingPrices; islands?: Record<string, OfferingPrices> };
  try {
    parsed = JSON.parse(readFile(name, file));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(name, `${file} is not JSON`);
  }
  const result = { default: parsed.default ?? DEFAULT_PRICES, islands: parsed.islands ?? {} };
  for (const [where, p] of [['default', result.default], ...Object.entries(result.islands)] as const) {
    try {
      checkPrices(p);
    } catch (error) {
      throw new ConfigError(name, `${where}: ${(error as Error).message}`);
    }
  }
  return result;
}

function shares(env: Env): RewardShares {
  const name = 'ARCHIPELAGO_REWARD_SHARES_PPM';
  const raw = env[name];
  if (!raw) return DEFAULT_REWARD_SHARES;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== 3 || !parts.every((p) => /^\d{1,7}$/.test(p))) throw new ConfigError(name, 'platform,provider,nodes in ppm, e.g. 50000,800000,150000');
  const [platformPpm, providerPpm, nodesPpm] = parts.map(Number);
  if (platformPpm + providerPpm + nodesPpm !== 1_000_000) throw new ConfigError(name, 'the three shares must sum to 1000000');
  return { platformPpm, providerPpm, nodesPpm };
}

export function usageSettings(env: Env): UsageSettings {
  const keyFile = env.ARCHIPELAGO_USAGE_SIGNING_KEY_FILE;
  return {
    // The provider's signing key may be sealed with the envelope key (src/adapters/secrets/sealed-file.ts).
    signingKeyPem: keyFile ? readSecret('ARCHIPELAGO_USAGE_SIGNING_KEY_FILE', keyFile, env) : null,
    intervalMs: integer(env, 'ARCHIPELAGO_USAGE_INTERVAL_MS', 1000, 50, 3_600_000),
    giveUpAfterSeconds: integer(env, 'ARCHIPELAGO_USAGE_GIVE_UP_SECONDS', 86400, 10, 30 * 86400),
    prices: prices(env),
    shares: shares(env),
    epochSeconds: integer(env, 'ARCHIPELAGO_REWARD_EPOCH_SECONDS', 86400, 60, 366 * 86400),
    commitDelayMs: integer(env, 'ARCHIPELAGO_USAGE_COMMIT_DELAY_MS', 0, 0, 60_000),
  };
}
