import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/adapters/config/config';
import { ConfigError } from '../../src/adapters/config/config-error';
import { bucketForScopes, DEFAULT_LIMITS, limitFor, parseRateLimits } from '../../src/core/ratelimit/rate-limit-policy';

describe('rate limits: configuration and buckets', () => {
  it('defaults when unset, nothing when off', () => {
    assert.deepEqual(parseRateLimits(undefined), { defaults: DEFAULT_LIMITS, byKind: {}, budgets: {} });
    assert.deepEqual(parseRateLimits(' '), { defaults: DEFAULT_LIMITS, byKind: {}, budgets: {} });
    // A kind's overall budget over all its requests; only per kind.
    assert.deepEqual(parseRateLimits('marketplace.budget=600/1m')?.budgets, { marketplace: { requests: 600, windowMs: 60_000 } });
    assert.throws(() => parseRateLimits('budget=600/1m'), /per principal kind/);
    assert.equal(parseRateLimits('off'), null);
  });

  it('overrides per bucket, and per principal kind (which wins for that kind only)', () => {
    const limits = parseRateLimits('submit=100/1s, marketplace.submit=1000/1s,join=20/1m,node=2/500ms')!;
    assert.deepEqual(limitFor(limits, 'submit', 'researcher'), { requests: 100, windowMs: 1000 });
    assert.deepEqual(limitFor(limits, 'submit', 'marketplace'), { requests: 1000, windowMs: 1000 });
    assert.deepEqual(limitFor(limits, 'read', 'marketplace'), DEFAULT_LIMITS.read);
    assert.deepEqual(limitFor(limits, 'join', null), { requests: 20, windowMs: 60_000 });
    assert.deepEqual(limitFor(limits, 'node', null), { requests: 2, windowMs: 500 });
    // Failed authentications: per address and credential, and the address-wide ceiling.
    const failures = parseRateLimits('auth=5/1m,auth_address=12/1m')!;
    assert.deepEqual(limitFor(failures, 'auth', null), { requests: 5, windowMs: 60_000 });
    assert.deepEqual(limitFor(failures, 'auth_address', null), { requests: 12, windowMs: 60_000 });
    assert.ok(DEFAULT_LIMITS.auth_address.requests >= 10 * DEFAULT_LIMITS.auth.requests, 'a shared address holds many tenants');
  });

  it('refuses what it cannot read, naming the entry', () => {
    for (const [text, reason] of [
      ['submit=100', /not \[kind\.\]bucket/],
      ['submti=1/1s', /unknown bucket submti/],
      ['robot.submit=1/1s', /unknown principal kind robot/],
      ['submit=0/1s', /at least 1 request/],
      ['submit=1/10ms', /100 ms to 1 day/],
      ['submit=1/2d', /not \[kind\.\]bucket/],
    ] as const) {
      assert.throws(() => parseRateLimits(text), reason, text);
    }
    assert.throws(
      () => loadConfig({ ARCHIPELAGO_RATE_LIMITS: 'submit=x' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'ARCHIPELAGO_RATE_LIMITS',
    );
  });

  it("a route's bucket is the first scope it requires, else other", () => {
    assert.equal(bucketForScopes(['submit']), 'submit');
    assert.equal(bucketForScopes(['admin']), 'admin');
    assert.equal(bucketForScopes([]), 'other');
    assert.equal(bucketForScopes(undefined), 'other');
  });
});
