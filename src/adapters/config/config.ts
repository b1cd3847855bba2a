import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from './config-error';
import { EnvelopeKeyError, envelopeKeys } from '../secrets/envelope-keys';
import { IslandSettings, parseIslandsFile } from './islands-file';
import { usageSettings, type UsageSettings } from './usage-settings';
import { ChainSettings, chainSettings } from '../chain/chain-settings';
import { LedgerSettings, ledgerSettings } from './ledger-settings';
import { IdentitySettings, identitySettings } from './identity-settings';
import { parseRateLimits, RateLimits } from '../../core/ratelimit/rate-limit-policy';

/**
 * Everything the process reads from its environment, validated once at start. Defaults are the
 * embedded local stack (`npm run up`), so a fresh checkout runs with no configuration at all.
 */
export interface AppConfig {
  role: 'api' | 'worker' | 'all';
  /** bodyLimitBytes: bodies that carry a batch script; smallBodyLimitBytes: every other JSON body. */
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    smallBodyLimitBytes: number;
    trustProxy: boolean;
    /** API processes sharing the port (role `api` only): one per CPU core serves the most. */
    processes: number;
  };
  databaseUrl: string;
  redisUrl: string;
  bootstrapAdminKey: string | null;
  islands: IslandSettings[];
  jobs: {
    maxScriptBytes: number;
    defaultEnvironment: Record<string, string>;
    /**
     * Output reads from local files: at most `concurrency` at once per process (each holds a libuv
     * thread while it waits on the file system), `perUser` of them for one POSIX user, each bounded
     * by `timeoutMs`.
     */
    outputReads: { concurrency: number; perUser: number; timeoutMs: number };
  };
  dispatch: {
    concurrency: number;
    leaseSeconds: number;
    reconcileIntervalMs: number;
    /** Transient submission failures: exponential backoff from baseDelayMs to maxDelayMs, at most maxAttempts submissions. */
    retry: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number };
    /** A job that fits no island while islands' membership changes waits up to this long after submission before it is rejected. */
    membershipWaitSeconds: number;
  };
  follow: { intervalMs: number; lostAfterSeconds: number };
  apiKeyCacheMs: number;
  /**
   * A copy of the audit trail's head kept outside PostgreSQL (src/features/audit/audit-witness.ts): a file
   * appended with the head whenever it moved, every `intervalMs`. Null file: no witness.
   */
  auditWitness: { file: string | null; intervalMs: number };
  /** Request limits per principal and per agent address (src/ratelimit); null: off. */
  rateLimits: RateLimits | null;
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
  /** Envelope keys for secrets at rest (src/adapters/secrets/secret-box.ts); the first seals. Empty: nothing may be sealed. */
  secretKeys: Buffer[];
  /** Turning measured latency into islands, and islands into SLURM clusters. */
  topology: {
    /** Who starts islands' SLURM daemons: nobody (islands come only from the islands file), local processes, or Kubernetes. */
    launcher: 'none' | 'local' | 'kubernetes';
    intervalMs: number;
    tiers: Array<{ name: string; boundMs: number }>;
    minIslandSize: number;
    /** Passes in a row that must propose the same optional island change before it is made (src/core/topology/stability.ts). */
    confirmRounds: number;
    /** Moves of placed nodes and tier changes made at most per hour; changes the bounds force are not counted. */
    maxChurnPerHour: number;
    /** Node tags that are hard placement boundaries: nodes differing in any of them never share an island. */
    hardTags: string[];
    /** Launched islands are named <prefix>-<n>; control planes sharing a machine or a cluster need distinct prefixes. */
    namePrefix: string;
    /** Local launcher: island-up.sh indexes (port blocks) it may use. */
    localSlots: number[];
    /** Kubernetes launcher: where Island/NodeSet resources go and which SLURM images they run (KUBECONFIG or in-cluster). */
    kubernetes: { namespace: string; slurmImage: string } | null;
  };
  /** `json`: one redacted JSON object per line (default); `text`: Nest's console format, for a terminal. */
  logging: { format: 'json' | 'text'; level: 'error' | 'warn' | 'log' | 'debug' | 'verbose' };
  /** Prometheus: the worker's own listener (null: none) and an optional bearer token for scrapes. */
  metrics: { port: number | null; bearerToken: string | null };
  /** Accounting, usage records and rewards (src/adapters/config/usage-settings.ts). */
  usage: UsageSettings;
  /** The VirtEngine chain (identity, MFA, usage reports); see src/adapters/chain/chain-settings.ts. */
  chain: ChainSettings;
  /** Reporting to the chain as our islands' provider daemon; see src/adapters/config/ledger-settings.ts. */
  ledger: LedgerSettings;
  /** Wallet login, VEID and MFA gates; see src/adapters/config/identity-settings.ts. */
  identity: IdentitySettings;
  /** Names this control plane in the tags of the SLURM jobs it submits; read from its database at start. */
  instanceId: string;
  /** Proves those tags are ours (src/core/dispatch/job-tag.ts), and when it was created; read from the database at start. */
  tagKey: { key: Buffer; createdAt: Date };
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
  const topology = topologySettings(env);
  // With a launcher, every island may come from measured latency; without one, no island means no work.
  if (env.ARCHIPELAGO_ISLANDS_FILE && islands.length === 0 && topology.launcher === 'none') {
    throw new ConfigError('ARCHIPELAGO_ISLANDS_FILE', `${islandsFile} defines no island (and ARCHIPELAGO_ISLAND_LAUNCHER is none)`);
  }
  return {
    role: oneOf(env, 'ARCHIPELAGO_ROLE', ['api', 'worker', 'all'] as const, 'all'),
    http: {
      host: env.HOST || '127.0.0.1',
      port: integer(env, 'PORT', 8080, 0, 65535),
      bodyLimitBytes: integer(env, 'ARCHIPELAGO_BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
      smallBodyLimitBytes: integer(env, 'ARCHIPELAGO_SMALL_BODY_LIMIT_BYTES', 64 * 1024, 1024, 64 * 1024 * 1024),
      trustProxy: env.ARCHIPELAGO_TRUST_PROXY === 'true',
      processes: env.ARCHIPELAGO_API_PROCESSES === 'auto' ? availableParallelism() : integer(env, 'ARCHIPELAGO_API_PROCESSES', 1, 1, 64),
    },
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:55432/archipelago', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:56379', ['redis:', 'rediss:']),
    bootstrapAdminKey,
    islands,
    jobs: {
      maxScriptBytes: integer(env, 'ARCHIPELAGO_MAX_SCRIPT_BYTES', 1024 * 1024, 64, 16 * 1024 * 1024),
      defaultEnvironment: { PATH: env.ARCHIPELAGO_JOB_PATH || '/usr/local/bin:/usr/bin:/bin' },
      outputReads: {
        concurrency: integer(env, 'ARCHIPELAGO_OUTPUT_READS', 2, 1, 1024),
        perUser: integer(env, 'ARCHIPELAGO_OUTPUT_READS_PER_USER', 1, 1, 1024),
        timeoutMs: integer(env, 'ARCHIPELAGO_OUTPUT_READ_TIMEOUT_MS', 10000, 100, 600000),
      },
    },
    dispatch: {
      concurrency: integer(env, 'ARCHIPELAGO_DISPATCH_CONCURRENCY', 8, 1, 256),
      leaseSeconds: integer(env, 'ARCHIPELAGO_DISPATCH_LEASE_SECONDS', 30, 2, 3600),
      reconcileIntervalMs: integer(env, 'ARCHIPELAGO_RECONCILE_INTERVAL_MS', 15000, 100, 3600000),
      retry: retryPolicy(env),
      membershipWaitSeconds: integer(env, 'ARCHIPELAGO_DISPATCH_MEMBERSHIP_WAIT_SECONDS', 600, 0, 86400),
    },
    follow: {
      intervalMs: integer(env, 'ARCHIPELAGO_FOLLOW_INTERVAL_MS', 1000, 50, 600000),
      lostAfterSeconds: integer(env, 'ARCHIPELAGO_LOST_AFTER_SECONDS', 30, 1, 86400),
    },
    apiKeyCacheMs: integer(env, 'ARCHIPELAGO_API_KEY_CACHE_MS', 5000, 0, 600000),
    auditWitness: {
      file: env.ARCHIPELAGO_AUDIT_WITNESS_FILE?.trim() || null,
      intervalMs: integer(env, 'ARCHIPELAGO_AUDIT_WITNESS_INTERVAL_MS', 60000, 100, 86400000),
    },
    rateLimits: rateLimits(env),
    nodes: nodeSettings(env),
    secretKeys: secretKeys(env),
    topology,
    logging: {
      format: oneOf(env, 'ARCHIPELAGO_LOG_FORMAT', ['json', 'text'] as const, 'json'),
      level: oneOf(env, 'ARCHIPELAGO_LOG_LEVEL', ['error', 'warn', 'log', 'debug', 'verbose'] as const, 'log'),
    },
    metrics: {
      port: env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 0, 65535) : null,
      bearerToken: secretFromEnvOrFile(env, 'ARCHIPELAGO_METRICS_TOKEN'),
    },
    usage: usageSettings(env),
    chain: chainSettings(env),
    ledger: ledgerSettings(env),
    identity: identitySettings(env),
    instanceId: '',
    tagKey: { key: Buffer.alloc(0), createdAt: new Date(0) },
  };
}

function retryPolicy(env: Env): AppConfig['dispatch']['retry'] {
  const retry = {
    baseDelayMs: integer(env, 'ARCHIPELAGO_DISPATCH_RETRY_BASE_MS', 2000, 100, 3600000),
    maxDelayMs: integer(env, 'ARCHIPELAGO_DISPATCH_RETRY_MAX_MS', 10000, 100, 3600000),
    // With the defaults, about an hour of failed submissions (an island down that long) ends a job.
    maxAttempts: integer(env, 'ARCHIPELAGO_DISPATCH_MAX_ATTEMPTS', 360, 1, 1000000),
  };
  if (retry.maxDelayMs < retry.baseDelayMs) {
    throw new ConfigError('ARCHIPELAGO_DISPATCH_RETRY_MAX_MS', `must be at least ARCHIPELAGO_DISPATCH_RETRY_BASE_MS (${retry.baseDelayMs})`);
  }
  return retry;
}

function rateLimits(env: Env): RateLimits | null {
  let limits: RateLimits | null;
  try {
    limits = parseRateLimits(env.ARCHIPELAGO_RATE_LIMITS);
  } catch (error) {
    throw new ConfigError('ARCHIPELAGO_RATE_LIMITS', (error as Error).message);
  }
  // Each marketplace account's own budget (0: none), unless ARCHIPELAGO_RATE_LIMITS names one.
  const perMinute = integer(env, 'ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE', 600, 0, 10_000_000);
  if (limits && perMinute > 0 && !limits.budgets.marketplace) limits.budgets.marketplace = { requests: perMinute, windowMs: 60_000 };
  return limits;
}

function secretKeys(env: Env): Buffer[] {
  try {
    return envelopeKeys(env);
  } catch (error) {
    if (error instanceof EnvelopeKeyError) throw new ConfigError(error.variable, error.message.slice(error.variable.length + 2));
    throw error;
  }
}

const TIER = /^([a-z][a-z0-9-]{0,15}):(\d+(?:\.\d+)?)$/;

function tiers(env: Env): Array<{ name: string; boundMs: number }> {
  const raw = env.ARCHIPELAGO_TOPOLOGY_TIERS || 'tight:2,loose:30';
  const parsed = raw.split(',').map((part) => TIER.exec(part.trim()));
  if (parsed.some((m) => !m || Number(m[2]) <= 0)) {
    throw new ConfigError('ARCHIPELAGO_TOPOLOGY_TIERS', 'comma-separated name:boundMs pairs, e.g. tight:2,loose:30');
  }
  const result = parsed.map((m) => ({ name: m![1], boundMs: Number(m![2]) }));
  if (new Set(result.map((t) => t.name)).size !== result.length) throw new ConfigError('ARCHIPELAGO_TOPOLOGY_TIERS', 'tier names must differ');
  return result;
}

function slots(env: Env): number[] {
  const raw = env.ARCHIPELAGO_LOCAL_ISLAND_SLOTS || '2-4';
  const m = /^([0-7])(?:-([0-7]))?$/.exec(raw);
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1])))
    throw new ConfigError('ARCHIPELAGO_LOCAL_ISLAND_SLOTS', 'an index or range within 0-7, e.g. 2-4');
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

const TAG_NAMES = ['region', 'zone', 'rack', 'providerGroup'] as const;

function hardTags(env: Env): string[] {
  const names = (env.ARCHIPELAGO_TOPOLOGY_HARD_TAGS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(TAG_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new ConfigError('ARCHIPELAGO_TOPOLOGY_HARD_TAGS', `unknown tag ${unknown.join(', ')}: use ${TAG_NAMES.join(', ')}`);
  return names;
}

function islandNamePrefix(env: Env): string {
  const prefix = env.ARCHIPELAGO_ISLAND_NAME_PREFIX || 'island';
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(prefix))
    throw new ConfigError('ARCHIPELAGO_ISLAND_NAME_PREFIX', 'a lowercase letter, then up to 29 letters, digits or dashes');
  return prefix;
}

function kubernetesSettings(env: Env): { namespace: string; slurmImage: string } {
  const namespace = env.ARCHIPELAGO_K8S_NAMESPACE || 'archipelago-islands';
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace)) throw new ConfigError('ARCHIPELAGO_K8S_NAMESPACE', 'must be a DNS label');
  const slurmImage = env.ARCHIPELAGO_K8S_SLURM_IMAGE;
  if (!slurmImage)
    throw new ConfigError('ARCHIPELAGO_K8S_SLURM_IMAGE', 'is required with ARCHIPELAGO_ISLAND_LAUNCHER=kubernetes (image prefix built from slurm/images)');
  return { namespace, slurmImage };
}

function topologySettings(env: Env): AppConfig['topology'] {
  const launcher = oneOf(env, 'ARCHIPELAGO_ISLAND_LAUNCHER', ['none', 'local', 'kubernetes'] as const, 'none');
  if (launcher !== 'none' && !env.ARCHIPELAGO_SECRETS_KEY_FILE) {
    throw new ConfigError(
      'ARCHIPELAGO_SECRETS_KEY_FILE',
      `is required with ARCHIPELAGO_ISLAND_LAUNCHER=${launcher}: launched islands' secrets are stored sealed`,
    );
  }
  return {
    launcher,
    intervalMs: integer(env, 'ARCHIPELAGO_TOPOLOGY_INTERVAL_MS', 15000, 200, 3600000),
    tiers: tiers(env),
    minIslandSize: integer(env, 'ARCHIPELAGO_TOPOLOGY_MIN_ISLAND_SIZE', 2, 1, 1000),
    confirmRounds: integer(env, 'ARCHIPELAGO_TOPOLOGY_CONFIRM_ROUNDS', 3, 1, 1000),
    maxChurnPerHour: integer(env, 'ARCHIPELAGO_TOPOLOGY_MAX_CHURN_PER_HOUR', 60, 0, 1_000_000),
    hardTags: hardTags(env),
    namePrefix: islandNamePrefix(env),
    localSlots: slots(env),
    kubernetes: launcher === 'kubernetes' ? kubernetesSettings(env) : null,
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
    throw new ConfigError(
      'ARCHIPELAGO_NODE_HEARTBEAT_SECONDS',
      `must be less than ARCHIPELAGO_NODE_STALE_SECONDS (${nodes.staleSeconds}), or every node goes stale between heartbeats`,
    );
  }
  return nodes;
}
