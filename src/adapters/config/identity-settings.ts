import { existsSync } from 'node:fs';
import { ConfigError } from '../../adapters/config/config-error';
import { parseVeidPolicy, VeidPolicy } from '../../core/identity/veid-policy';
import { SENSITIVE_ACTIONS, SensitiveAction } from '../../core/identity/mfa-rules';

export interface IdentitySettings {
  /** The domain wallet challenges are bound to; a signature for another domain is refused. */
  loginDomain: string;
  challengeSeconds: number;
  sessionSeconds: number;
  refreshSeconds: number;
  /** The development identity file used when no chain is configured (null: none). */
  devIdentityFile: string | null;
  veid: VeidPolicy & { cacheMs: number };
  mfa: {
    /** Actions that need a step-up MFA session (when the chain says MFA is required for the caller). */
    actions: ReadonlySet<SensitiveAction>;
    /** A job asking for more node-hours (nodes × time limit) than this is high-value. */
    highValueNodeHours: number;
    /** Cancelling more jobs than this in one request is a mass cancel. */
    massCancelJobs: number;
    /** Principals without a chain address: `exempt` (today's behaviour) or `deny`. */
    unlinked: 'exempt' | 'deny';
  };
}

type Env = Record<string, string | undefined>;

export const DEFAULT_DEV_IDENTITY_FILE = '/etc/archipelago/dev-identities.json';

function seconds(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  return Number(raw);
}

export function identitySettings(env: Env): IdentitySettings {
  const loginDomain = env.ARCHIPELAGO_LOGIN_DOMAIN || 'archipelago.local';
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(loginDomain)) throw new ConfigError('ARCHIPELAGO_LOGIN_DOMAIN', 'must be a host name, optionally with :port');
  let veid: VeidPolicy;
  try {
    veid = parseVeidPolicy(env.ARCHIPELAGO_VEID_POLICY, env.ARCHIPELAGO_VEID_FAIL_OPEN, env.ARCHIPELAGO_VEID_UNLINKED);
  } catch (error) {
    throw new ConfigError('ARCHIPELAGO_VEID_POLICY', (error as Error).message);
  }
  const mfaActions =
    env.ARCHIPELAGO_MFA_ACTIONS === undefined
      ? [...SENSITIVE_ACTIONS]
      : env.ARCHIPELAGO_MFA_ACTIONS.split(',')
          .map((a) => a.trim())
          .filter(Boolean);
  for (const action of mfaActions) {
    if (!(SENSITIVE_ACTIONS as readonly string[]).includes(action)) {
      throw new ConfigError('ARCHIPELAGO_MFA_ACTIONS', `unknown action "${action}" (actions: ${SENSITIVE_ACTIONS.join(', ')})`);
    }
  }
  const unlinked = env.ARCHIPELAGO_MFA_UNLINKED || 'exempt';
  if (unlinked !== 'exempt' && unlinked !== 'deny') throw new ConfigError('ARCHIPELAGO_MFA_UNLINKED', 'must be exempt or deny');
  const devFile = env.ARCHIPELAGO_DEV_IDENTITY_FILE || (existsSync(DEFAULT_DEV_IDENTITY_FILE) ? DEFAULT_DEV_IDENTITY_FILE : null);
  if (env.ARCHIPELAGO_DEV_IDENTITY_FILE && !existsSync(env.ARCHIPELAGO_DEV_IDENTITY_FILE)) {
    throw new ConfigError('ARCHIPELAGO_DEV_IDENTITY_FILE', `file ${env.ARCHIPELAGO_DEV_IDENTITY_FILE} does not exist`);
  }
  return {
    loginDomain,
    challengeSeconds: seconds(env, 'ARCHIPELAGO_LOGIN_CHALLENGE_SECONDS', 300, 10, 3600),
    sessionSeconds: seconds(env, 'ARCHIPELAGO_SESSION_SECONDS', 900, 10, 86400),
    refreshSeconds: seconds(env, 'ARCHIPELAGO_REFRESH_SECONDS', 7 * 86400, 60, 90 * 86400),
    devIdentityFile: devFile,
    veid: { ...veid, cacheMs: seconds(env, 'ARCHIPELAGO_VEID_CACHE_MS', 30_000, 0, 3_600_000) },
    mfa: {
      actions: new Set(mfaActions as SensitiveAction[]),
      highValueNodeHours: seconds(env, 'ARCHIPELAGO_MFA_HIGH_VALUE_NODE_HOURS', 1000, 1, 100_000_000),
      massCancelJobs: seconds(env, 'ARCHIPELAGO_MFA_MASS_CANCEL_JOBS', 10, 1, 100_000),
      unlinked,
    },
  };
}
