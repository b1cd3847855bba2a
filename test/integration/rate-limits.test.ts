import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../support/control-plane';
import { ManualNode } from '../support/manual-node';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Request limits counted in Redis, against the real control plane: per principal and scope, per
 * source address for agents joining, per node (after its signature) for heartbeats.
 */
describe('rate limits: 429 with Retry-After, then the window resets', { timeout: 120_000 }, () => {
  const cp = new ControlPlane('rate-limits', {
    islands: [{ name: 'local-a' }],
    redisDb: 12,
    databaseName: 'hard_rate_limits',
    env: { ARCHIPELAGO_RATE_LIMITS: 'read=5/2s,submit=50/2s,join=4/3s,node=2/3s,auth=5/1m', ARCHIPELAGO_API_KEY_CACHE_MS: '0' },
  });
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let acme: { id: string; key: string };

  before(async () => {
    await cp.start();
    cp.killWorker();
    alice = await cp.researcher('alice', 'alice');
    bob = await cp.researcher('bob', 'bob');
    acme = await cp.provider('acme');
  });
  after(() => cp.stop());

  it('per principal and scope: a burst gets exactly the limit through, the rest 429 with Retry-After; then it resets', async () => {
    const burst = await Promise.all(Array.from({ length: 20 }, () => cp.request('GET', '/v1/jobs', alice.key)));
    const statuses = burst.map((answer) => answer.status);
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 15, statuses.join(','));

    const refused = burst.find((answer) => answer.status === 429)!;
    assert.equal(refused.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    assert.equal(refused.json.status, 429);
    assert.equal(refused.json.bucket, 'read');
    assert.equal(refused.json.retryAfterSeconds, retryAfter);
    const passed = burst.find((answer) => answer.status === 200)!;
    assert.equal(passed.headers.get('ratelimit-limit'), '5');

    // Other principals and other scopes have their own allowance.
    assert.equal((await cp.request('GET', '/v1/jobs', bob.key)).status, 200);
    const submitted = await cp.request('POST', '/v1/jobs', alice.key, { script: '#!/bin/bash\ntrue\n', options: { hold: true } });
    assert.equal(submitted.status, 202, submitted.text);
    assert.equal(submitted.headers.get('ratelimit-limit'), '50');

    await sleep(retryAfter * 1000 + 100);
    const again = await cp.request('GET', '/v1/jobs', alice.key);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers.get('ratelimit-remaining'), '4');
  });

  it('heartbeats count per node once the signature verifies; a forger cannot spend a node\'s allowance', async () => {
    const node = new ManualNode(cp);
    await node.join(acme.key);
    const forged = await cp.request('POST', '/v1/agent/heartbeat', null, {
      message: { purpose: 'heartbeat', nodeId: node.id, seq: 1, sentAt: Date.now(), capacity: { cpusFree: 1, memoryFreeMb: 1, gpusFree: 0 }, health: 'ok', slurmdState: 'idle' },
      signature: 'A'.repeat(86),
    });
    assert.equal(forged.status, 401, forged.text);
    assert.equal((await node.heartbeat()).status, 200);
    assert.equal((await node.heartbeat()).status, 200);
    const third = await node.heartbeat();
    assert.equal(third.status, 429, third.text);
    assert.equal(third.json.bucket, 'node');
    const retryAfter = Number(third.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`);
    await sleep(retryAfter * 1000 + 100);
    assert.equal((await node.heartbeat()).status, 200, 'a new window lets the node through again');
  });

  it('join challenges count per source address, before the token is even looked at', async () => {
    await sleep(3100); // the join window the node above used has passed
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await cp.request('POST', '/v1/agent/join-challenge', null, { token: `jt_${'A'.repeat(43)}` }));
    assert.deepEqual(answers.map((a) => a.status), [401, 401, 401, 401, 429]);
    assert.equal(answers[4].json.bucket, 'join');
    assert.ok(Number(answers[4].headers.get('retry-after')) >= 1);
  });

  // Last: it locks this machine's address out for the rest of the minute.
  it('failed authentications count per source address: past the limit, nothing from there is checked, not even a valid key', async () => {
    const guesses = [`ak_${'x'.repeat(40)}`, 'not-even-a-key', `${alice.key.slice(0, -4)}AAAA`, `${bob.key}x`, 'ak_short'];
    const answers = [];
    for (const guess of guesses) answers.push(await cp.request('GET', '/v1/jobs', guess));
    assert.deepEqual(answers.map((a) => a.status), [401, 401, 401, 401, 401]);
    const locked = await cp.request('GET', '/v1/jobs', `ak_${'y'.repeat(40)}`);
    assert.equal(locked.status, 429, locked.text);
    assert.equal(locked.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(locked.json.bucket, 'auth');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter >= 50 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const valid = await cp.request('GET', '/v1/jobs', alice.key);
    assert.equal(valid.status, 429, 'a right guess would be refused too: the lockout reveals nothing');
    assert.equal(valid.json.bucket, 'auth');
    // Public routes stay open (health, docs) and agents have their own per-address limits.
    assert.equal((await cp.request('GET', '/health/live', null)).status, 200);
  });
});
