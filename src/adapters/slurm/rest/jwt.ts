import { createHmac } from 'node:crypto';
import { assertActingUser } from '../../../core/slurm/posix-user';

/** Claims SLURM's auth/jwt checks (22.05): issued-at, expiry, and the user name (`sun`). */
export interface SlurmJwtClaims {
  iat: number;
  exp: number;
  sun: string;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * Mints an HS256 token for `user` with the island's jwt key, the same way `scontrol token` does.
 * Refuses privileged or invalid user names.
 */
export function mintSlurmJwt(key: Buffer, user: string, lifetimeSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  assertActingUser(user);
  if (!Buffer.isBuffer(key) || key.length < 16) throw new Error('SLURM jwt key is missing or too short');
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 2) throw new Error(`token lifetime must be an integer >= 2 s, got ${lifetimeSeconds}`);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims: SlurmJwtClaims = { iat: nowSeconds, exp: nowSeconds + lifetimeSeconds, sun: user };
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/**
 * Per-user token cache: a token is reused until half its lifetime has passed, so a request never
 * carries a token that expires in flight, and at most two tokens per user are valid at a time.
 */
export class SlurmTokenCache {
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();

  constructor(
    private readonly key: Buffer,
    private readonly lifetimeSeconds: number,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  tokenFor(user: string): string {
    const nowMs = this.clock();
    const cached = this.tokens.get(user);
    if (cached && nowMs < cached.renewAt) return cached.token;
    const nowSeconds = Math.floor(nowMs / 1000);
    const token = mintSlurmJwt(this.key, user, this.lifetimeSeconds, nowSeconds);
    this.tokens.set(user, { token, renewAt: (nowSeconds + this.lifetimeSeconds / 2) * 1000 });
    return token;
  }

  clear(): void {
    this.tokens.clear();
  }
}
