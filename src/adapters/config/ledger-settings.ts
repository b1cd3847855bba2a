import { readFileSync } from 'node:fs';
import { ConfigError } from '../../adapters/config/config-error';
import { KeySecret, parseKeySecret } from '../chain/chain-wallet';

/** Reporting to the chain as the provider daemon of our islands (src/features/ledger/). */
export interface LedgerSettings {
  /** The provider account's key (mnemonic or hex private key); null: nothing is reported. */
  providerKey: KeySecret | null;
  /** Messages per transaction at most, and the gas limit (simulated × multiplier) a transaction may ask for. */
  maxMessagesPerTx: number;
  maxGasPerTx: number;
  /** Our account's transactions per block at most (the chain's ante handler refuses the 11th by default). */
  maxTxsPerBlock: number;
  /** How often islands, offerings and node liveness are brought up to date (node heartbeat timeout on chain: 120 s). */
  livenessIntervalMs: number;
  /** The region sent for an island or node whose nodes carry no region tag (the chain requires one). */
  defaultRegion: string;
  /** Offerings: the identity score a customer needs (0-100) and the longest job (s). */
  offeringIdentityThreshold: number;
  offeringMaxRuntimeSeconds: number;
  /** Chain ingress: jobs customers submit on chain for our islands, imported as Archipelago jobs. */
  ingress: IngressSettings;
  /** How often what we reported is compared with what the chain holds (0: never). */
  reconcileIntervalMs: number;
}

export interface IngressSettings {
  /** How often PENDING chain jobs are looked for (the reference daemon polls every 10 s); 0: ingress off. */
  intervalMs: number;
  /** How many PENDING chain jobs are decided at a time (one chain_ingress look-up each batch). */
  pageLimit: number;
  /** The POSIX account of a chain customer with no admin mapping (wallet_accounts); null: such jobs are refused. */
  defaultSlurmUser: string | null;
  /**
   * How the job's container image is run: `apptainer` / `singularity` exec it; `host` runs the
   * command on the node itself WITHOUT the image (for islands with no container runtime; the image
   * is only passed on as VIRTENGINE_CONTAINER_IMAGE).
   */
  containerRuntime: 'apptainer' | 'singularity' | 'host';
}

type Env = Record<string, string | undefined>;

export function ledgerSettings(env: Env): LedgerSettings {
  const keyFile = env.CHAIN_PROVIDER_KEY_FILE;
  let providerKey: KeySecret | null = null;
  if (keyFile) {
    try {
      providerKey = parseKeySecret(readFileSync(keyFile, 'utf8'));
    } catch (error) {
      throw new ConfigError('CHAIN_PROVIDER_KEY_FILE', `${keyFile}: ${(error as Error).message}`);
    }
  }
  const region = env.CHAIN_DEFAULT_REGION || 'unknown';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(region)) throw new ConfigError('CHAIN_DEFAULT_REGION', 'letters, digits, . _ : - (1-64)');
  return {
    providerKey,
    maxMessagesPerTx: integer(env, 'CHAIN_MAX_MSGS_PER_TX', 100, 1, 1000),
    maxGasPerTx: integer(env, 'CHAIN_MAX_TX_GAS', 4_000_000, 100_000, 100_000_000),
    maxTxsPerBlock: integer(env, 'CHAIN_MAX_TXS_PER_BLOCK', 10, 1, 1000),
    livenessIntervalMs: integer(env, 'CHAIN_LIVENESS_INTERVAL_MS', 30_000, 100, 90_000),
    defaultRegion: region,
    offeringIdentityThreshold: integer(env, 'CHAIN_OFFERING_IDENTITY_THRESHOLD', 50, 0, 100),
    offeringMaxRuntimeSeconds: integer(env, 'CHAIN_OFFERING_MAX_RUNTIME_SECONDS', 604_800, 60, 604_800),
    ingress: ingressSettings(env),
    reconcileIntervalMs: integer(env, 'CHAIN_RECONCILE_INTERVAL_MS', 600_000, 0, 86_400_000),
  };
}

function ingressSettings(env: Env): IngressSettings {
  const slurmUser = env.CHAIN_INGRESS_SLURM_USER || null;
  if (slurmUser !== null && !/^[a-z_][a-z0-9_-]{0,31}$/.test(slurmUser)) throw new ConfigError('CHAIN_INGRESS_SLURM_USER', 'a POSIX user name');
  const runtime = env.CHAIN_INGRESS_CONTAINER_RUNTIME || 'apptainer';
  if (runtime !== 'apptainer' && runtime !== 'singularity' && runtime !== 'host') {
    throw new ConfigError('CHAIN_INGRESS_CONTAINER_RUNTIME', 'apptainer, singularity or host');
  }
  return {
    intervalMs: integer(env, 'CHAIN_INGRESS_INTERVAL_MS', 10_000, 0, 3_600_000),
    pageLimit: integer(env, 'CHAIN_INGRESS_PAGE_LIMIT', 200, 1, 1000),
    defaultSlurmUser: slurmUser,
    containerRuntime: runtime,
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d{1,9}$/.test(raw) || value < min || value > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}`);
  return value;
}
