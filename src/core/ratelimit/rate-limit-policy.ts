import type { PrincipalKind, Scope } from '../auth/principal';

/**
 * Which requests count against which limit. Pure: no I/O.
 *
 * Authenticated requests count per principal, in the bucket of the scope the route requires
 * (`submit`, `read`, `admin`, `provider`; `other` for routes that check access in the service).
 * A limit may be set for every principal (`submit=…`) or for one kind (`marketplace.submit=…`,
 * which wins). Node agents have no principal: `join` counts join challenges and joins per source
 * address, `agent` counts heartbeats and latency reports per source address before the signature
 * is checked, and `node` counts them per node once it is. Failed authentications (unknown,
 * revoked or expired keys, session and refresh tokens, refused wallet logins) count twice: in
 * `auth` per source address and credential (a key's prefix, a wallet's address), and in
 * `auth_address` per source address alone. Past `auth`, that credential is refused from that
 * address before it is checked; past `auth_address`, every credential from there is. Many tenants
 * behind one proxy share its address, so one tenant's stale key locks out only that key, while
 * the address-wide ceiling still bounds how many guesses one address gets.
 */
export const BUCKETS = ['submit', 'read', 'admin', 'provider', 'other', 'join', 'agent', 'node', 'auth', 'auth_address'] as const;
/** Not a route bucket: a kind's overall request budget, counted on every authenticated request. */
export const BUDGET = 'budget';
export type Bucket = (typeof BUCKETS)[number];

export interface Limit {
  requests: number;
  windowMs: number;
}

export interface RateLimits {
  /** Per bucket, for every principal. */
  defaults: Record<Bucket, Limit>;
  /** Per principal kind, overriding the default for that bucket. */
  byKind: Partial<Record<PrincipalKind, Partial<Record<Bucket, Limit>>>>;
  /** Per principal kind, an overall budget over all its requests (e.g. each marketplace account's own). */
  budgets: Partial<Record<PrincipalKind, Limit>>;
}

/**
 * Generous enough for the submit benchmark (≥ 1000 jobs/s from one key) and for a provider with
 * hundreds of machines behind one NAT address joining at once; tighten per deployment.
 */
export const DEFAULT_LIMITS: Record<Bucket, Limit> = {
  submit: { requests: 2000, windowMs: 1000 },
  read: { requests: 2000, windowMs: 1000 },
  admin: { requests: 200, windowMs: 1000 },
  provider: { requests: 200, windowMs: 1000 },
  other: { requests: 500, windowMs: 1000 },
  join: { requests: 300, windowMs: 60_000 },
  agent: { requests: 200, windowMs: 1000 },
  node: { requests: 20, windowMs: 10_000 },
  // A client retrying with a stale key for a while; far too few to guess the rest of a key.
  auth: { requests: 20, windowMs: 60_000 },
  // A proxy or NAT address with hundreds of tenants, a few stale keys each; still bounded.
  auth_address: { requests: 1000, windowMs: 60_000 },
};

const KINDS: readonly PrincipalKind[] = ['researcher', 'provider_admin', 'marketplace', 'platform_admin'];
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const ENTRY = /^(?:([a-z_]+)\.)?([a-z_]+)=(\d{1,9})\/(\d{1,7})(ms|s|m|h)$/;

/**
 * `off`, or comma-separated `[kind.]bucket=requests/window` overrides of the defaults, e.g.
 * `submit=100/1s,marketplace.submit=1000/1s,join=20/1m`. Throws with the offending entry.
 */
export function parseRateLimits(text: string | undefined): RateLimits | null {
  const limits: RateLimits = { defaults: { ...DEFAULT_LIMITS }, byKind: {}, budgets: {} };
  if (text === undefined || text.trim() === '') return limits;
  if (text.trim() === 'off') return null;
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const m = ENTRY.exec(entry);
    if (!m) throw new Error(`"${entry}" is not [kind.]bucket=requests/window (e.g. submit=100/1s)`);
    const [, kind, bucket, requests, amount, unit] = m;
    if (bucket === BUDGET) {
      if (kind === undefined) throw new Error(`"${entry}": a budget is per principal kind, e.g. marketplace.budget=600/1m`);
    } else if (!(BUCKETS as readonly string[]).includes(bucket)) throw new Error(`"${entry}": unknown bucket ${bucket} (${BUCKETS.join(', ')})`);
    if (kind !== undefined && !(KINDS as readonly string[]).includes(kind)) throw new Error(`"${entry}": unknown principal kind ${kind} (${KINDS.join(', ')})`);
    const limit = { requests: Number(requests), windowMs: Number(amount) * UNITS[unit] };
    if (limit.requests < 1 || limit.windowMs < 100 || limit.windowMs > 86_400_000)
      throw new Error(`"${entry}": at least 1 request, a window from 100 ms to 1 day`);
    if (bucket === BUDGET) limits.budgets[kind as PrincipalKind] = limit;
    else if (kind === undefined) limits.defaults[bucket as Bucket] = limit;
    else (limits.byKind[kind as PrincipalKind] ??= {})[bucket as Bucket] = limit;
  }
  return limits;
}

/** The bucket of an authenticated route: the first scope it requires, or `other`. */
export function bucketForScopes(required: readonly Scope[] | undefined): Bucket {
  return required?.[0] ?? 'other';
}

export function limitFor(limits: RateLimits, bucket: Bucket, kind: PrincipalKind | null): Limit {
  return (kind && limits.byKind[kind]?.[bucket]) || limits.defaults[bucket];
}
