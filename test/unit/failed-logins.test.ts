import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/adapters/config/config';
import { Problem } from '../../src/core/common/problem';
import { parseRateLimits } from '../../src/core/ratelimit/rate-limit-policy';
import type { Limit } from '../../src/core/ratelimit/rate-limit-policy';
import type { RateLimiter, Verdict } from '../../src/adapters/http/ratelimit/rate-limiter';
import { RateLimits } from '../../src/adapters/http/ratelimit/rate-limits';
import { credentialFamily } from '../../src/core/auth/api-key';

/** Redis's fixed windows, in memory: every key's count within one long window. */
class CountingLimiter {
  readonly counts = new Map<string, number>();
  async hit(bucket: string, subject: string, limit: Limit): Promise<Verdict> {
    const key = `${bucket}:${subject}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { allowed: count <= limit.requests, limit: limit.requests, remaining: Math.max(0, limit.requests - count), resetMs: 60_000 };
  }
}

const unauthorized = () => Promise.reject(new Problem(401, 'Unauthorized', 'unknown key'));
const ok = () => Promise.resolve('principal');

async function statusOf(attempt: Promise<unknown>): Promise<number | string> {
  try {
    return (await attempt) as string;
  } catch (error) {
    return error instanceof Problem ? `${error.status} ${error.extras.bucket ?? ''}`.trim() : String(error);
  }
}

describe('failed authentications: per address and credential, under a per-address ceiling', () => {
  const setup = () => {
    const limiter = new CountingLimiter();
    const config = { rateLimits: parseRateLimits('auth=3/1m,auth_address=7/1m') } as AppConfig;
    return { limiter, limits: new RateLimits(config, limiter as unknown as RateLimiter) };
  };

  it('a stale credential locks out itself from that address, not the other credentials behind it', async () => {
    const { limits } = setup();
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await statusOf(limits.authenticating('10.0.0.1', 'ak_stale000', unauthorized)));
    assert.deepEqual(seen, ['401', '401', '401', '429 auth']);
    assert.equal(await statusOf(limits.authenticating('10.0.0.1', 'ak_stale000', ok)), '429 auth', 'a right guess is refused too');
    assert.equal(await statusOf(limits.authenticating('10.0.0.1', 'ak_others00', ok)), 'principal');
    assert.equal(await statusOf(limits.authenticating('10.0.0.2', 'ak_stale000', ok)), 'principal', 'the same credential from elsewhere');
    assert.equal(await statusOf(limits.authenticating('10.0.0.1', 'wallet:ve1rita', ok)), 'principal');
  });

  it('past the address-wide ceiling, every credential from there is refused before it is checked', async () => {
    const { limits, limiter } = setup();
    const seen = [];
    for (let i = 0; i < 8; i++) seen.push(await statusOf(limits.authenticating('10.0.0.1', `ak_guess${i}00`, unauthorized)));
    assert.deepEqual(seen, ['401', '401', '401', '401', '401', '401', '401', '429 auth_address']);
    assert.equal(await statusOf(limits.authenticating('10.0.0.1', 'ak_others00', ok)), '429 auth_address');
    assert.equal(await statusOf(limits.authenticating('10.0.0.9', 'ak_others00', ok)), 'principal');
    assert.equal(limiter.counts.get('auth_address:ip:10.0.0.1'), 8, 'refused attempts are not looked at, nor counted');
  });

  it('only a 401 counts: other refusals and successes do not', async () => {
    const { limits, limiter } = setup();
    const forbidden = () => Promise.reject(new Problem(403, 'Forbidden', 'disabled'));
    for (let i = 0; i < 5; i++) await statusOf(limits.authenticating('10.0.0.1', 'wallet:ve1rita', forbidden));
    for (let i = 0; i < 5; i++) await statusOf(limits.authenticating('10.0.0.1', 'wallet:ve1rita', ok));
    assert.equal(limiter.counts.size, 0);
  });

  it("a credential's family is its public prefix; anything else is one family", () => {
    assert.equal(credentialFamily('ak_abcdefgh' + 'x'.repeat(35)), 'ak_abcdefgh');
    assert.equal(credentialFamily('st_12345678' + 'y'.repeat(35)), 'st_12345678');
    assert.equal(credentialFamily('rt_12345678' + 'y'.repeat(35)), 'rt_12345678');
    assert.equal(credentialFamily('not a key; DROP TABLE'), 'malformed');
    assert.equal(credentialFamily('a'.repeat(201)), 'malformed');
  });
});
