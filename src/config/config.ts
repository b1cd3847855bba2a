import { readFileSync, existsSync } from 'node:fs';
import { IslandSettings, parseIslandsFile } from './islands-file';
import { ChainSettings, chainSettings } from '../chain/chain-settings';
import { IdentitySettings, identitySettings } from '../identity/identity-settings';

/**
 * Everything the process reads from its environment, validated once at start. Defaults are the
 * embedded local stack (`npm run up`), so a fresh checkout runs with no configuration at all.
 */
export interface AppConfig {
  role: 'api' | 'worker' | 'all';
  http: { host: string; port: number; bodyLimitBytes: number; trustProxy: boolean };
  databaseUrl: string;
  redisUrl: string;
  bootstrapAdminKey: string | null;
  islands: IslandSettings[];
  jobs: {
    maxScriptBytes: number;
    defaultEnvironment: Record<string, string>;
  };
  dispatch: {
    concurrency: number;
    leaseSeconds: number;
    reconcileIntervalMs: number;
  };
  follow: { intervalMs: number; lostAfterSeconds: number };
  apiKeyCacheMs: number;
  /** Each marketplace account's requests per minute (0: unlimited). */
  marketplaceRequestsPerMinute: number;
  /** Provider nodes: how often agents report and how long silence is tolerated. */
  nodes: {
    heartbeatSeconds: number;
    staleSeconds: number;
    offlineSeconds: number;
    deregisterSeconds: number;
    sweepIntervalMs: number;
    /** How many peers one agent is asked to probe. */
    probePeers: number;
  };
  /** The VirtEngine chain (identity, MFA, usage reports); see src/chain/chain-settings.ts. */
  chain: ChainSettings;
  /** Wallet login, VEID and MFA gates; see src/identity/identity-settings.ts. */
  identity: IdentitySettings;
  /** Names this control plane in the tags of the SLURM jobs it submits; read from its database at start. */
  instanceId: string;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  }
  return raw;
}

function secretFromEnvOrFile(env: Env, name: string): string | null {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct) return direct.trim();
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`${name}_FILE`, `file ${file} does not exist`);
    return readFileSync(file, 'utf8').trim();
  }
  return null;
}

export const DEFAULT_ISLANDS_FILE = '/etc/archipelago/islands.json';

export function loadConfig(env: Env = process.env): AppConfig {
  const bootstrapAdminKey = secretFromEnvOrFile(env, 'ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== null && bootstrapAdminKey.length < 32) {
    throw new ConfigError('ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY', 'must be at least 32 characters');
  }
  const islandsFile = env.ARCHIPELAGO_ISLANDS_FILE || DEFAULT_ISLANDS_FILE;
  const islands = existsSync(islandsFile) ? parseIslandsFile(islandsFile) : [];
  if (env.ARCHIPELAGO_ISLANDS_FILE && islands.length === 0) {
    throw new ConfigError('ARCHIPELAGO_ISLANDS_FILE', `${islandsFile} defines no island`);
  }
  return {
    role: oneOf(env, 'ARCHIPELAGO_ROLE', ['api', 'worker', 'all'] as const, 'all'),
    http: {
      host: env.HOST || '127.0.0.1',
      port: integer(env, 'PORT', 8080, 0, 65535),
      bodyLimitBytes: integer(env, 'ARCHIPELAGO_BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
      trustProxy: env.ARCHIPELAGO_TRUST_PROXY === 'true',
    },
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:55432/archipelago', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:56379', ['redis:', 'rediss:']),
    bootstrapAdminKey,
    islands,
    jobs: {
      maxScriptBytes: integer(env, 'ARCHIPELAGO_MAX_SCRIPT_BYTES', 1024 * 1024, 64, 16 * 1024 * 1024),
      defaultEnvironment: { PATH: env.ARCHIPELAGO_JOB_PATH || '/usr/local/bin:/usr/bin:/bin' },
    },
    dispatch: {
      concurrency: integer(env, 'ARCHIPELAGO_DISPATCH_CONCURRENCY', 8, 1, 256),
      leaseSeconds: integer(env, 'ARCHIPELAGO_DISPATCH_LEASE_SECONDS', 30, 2, 3600),
      reconcileIntervalMs: integer(env, 'ARCHIPELAGO_RECONCILE_INTERVAL_MS', 15000, 100, 3600000),
    },
    follow: {
      intervalMs: integer(env, 'ARCHIPELAGO_FOLLOW_INTERVAL_MS', 1000, 50, 600000),
      lostAfterSeconds: integer(env, 'ARCHIPELAGO_LOST_AFTER_SECONDS', 30, 1, 86400),
    },
    apiKeyCacheMs: integer(env, 'ARCHIPELAGO_API_KEY_CACHE_MS', 5000, 0, 600000),
    marketplaceRequestsPerMinute: integer(env, 'ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE', 600, 0, 10_000_000),
    nodes: nodeSettings(env),
    chain: chainSettings(env),
    identity: identitySettings(env),
    instanceId: '',
  };
}

function nodeSettings(env: Env): AppConfig['nodes'] {
  const nodes = {
    heartbeatSeconds: integer(env, 'ARCHIPELAGO_NODE_HEARTBEAT_SECONDS', 30, 1, 3600),
    staleSeconds: integer(env, 'ARCHIPELAGO_NODE_STALE_SECONDS', 120, 1, 86400),
    offlineSeconds: integer(env, 'ARCHIPELAGO_NODE_OFFLINE_SECONDS', 300, 2, 7 * 86400),
    deregisterSeconds: integer(env, 'ARCHIPELAGO_NODE_DEREGISTER_SECONDS', 3600, 3, 365 * 86400),
    sweepIntervalMs: integer(env, 'ARCHIPELAGO_NODE_SWEEP_INTERVAL_MS', 5000, 100, 600000),
    probePeers: integer(env, 'ARCHIPELAGO_NODE_PROBE_PEERS', 16, 0, 256),
  };
  if (nodes.offlineSeconds <= nodes.staleSeconds) {
    throw new ConfigError('ARCHIPELAGO_NODE_OFFLINE_SECONDS', `must be more than ARCHIPELAGO_NODE_STALE_SECONDS (${nodes.staleSeconds})`);
  }
  if (nodes.deregisterSeconds <= nodes.offlineSeconds) {
    throw new ConfigError('ARCHIPELAGO_NODE_DEREGISTER_SECONDS', `must be more than ARCHIPELAGO_NODE_OFFLINE_SECONDS (${nodes.offlineSeconds})`);
  }
  if (nodes.heartbeatSeconds >= nodes.staleSeconds) {
    throw new ConfigError('ARCHIPELAGO_NODE_HEARTBEAT_SECONDS', `must be less than ARCHIPELAGO_NODE_STALE_SECONDS (${nodes.staleSeconds}), or every node goes stale between heartbeats`);
  }
  return nodes;
}
