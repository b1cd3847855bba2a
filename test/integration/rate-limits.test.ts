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
    env: { ARCHIPELAGO_RATE_LIMITS: 'read=5/2s,submit=50/2s,join=4/3s,node=2/3s,auth=5/1m,auth_address=12/1m', ARCHIPELAGO_API_KEY_CACHE_MS: '0' },
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

  it("heartbeats count per node once the signature verifies; a forger cannot spend a node's allowance", async () => {
    const node = new ManualNode(cp);
    await node.join(acme.key);
    const forged = await cp.request('POST', '/v1/agent/heartbeat', null, {
      message: {
        purpose: 'heartbeat',
        nodeId: node.id,
        seq: 1,
        sentAt: Date.now(),
        capacity: { cpusFree: 1, memoryFreeMb: 1, gpusFree: 0 },
        health: 'ok',
        slurmdState: 'idle',
      },
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
    assert.deepEqual(
      answers.map((a) => a.status),
      [401, 401, 401, 401, 429],
    );
    assert.equal(answers[4].json.bucket, 'join');
    assert.ok(Number(answers[4].headers.get('retry-after')) >= 1);
  });

  it('hostile bodies (5,000 levels, 200,000 elements, over the limit) sent meanwhile: each gets its problem, and the limiter still counts exactly', async () => {
    const deep = (member: string) => `{"${member}":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const manyValues = JSON.stringify({ script: '#!/bin/bash\ntrue\n', placement: { regions: Array.from({ length: 200_000 }, () => 'eu') } });
    const overLimit = { script: `#!/bin/bash\n${'#'.repeat(3 * 1024 * 1024)}` };
    const json = { 'content-type': 'application/json' };
    const hostile: Array<[() => ReturnType<typeof cp.request>, number, string]> = [
      [() => cp.request('POST', '/v1/jobs', alice.key, manyValues, json), 400, 'placement'],
      [() => cp.request('POST', '/v1/agent/heartbeat', null, deep('message'), json), 400, 'message'],
      [() => cp.request('POST', '/v1/auth/challenge', null, deep('address'), json), 400, 'address'],
      [() => cp.request('POST', '/v1/jobs', alice.key, overLimit), 413, 'body'],
    ];
    const attacker = async () => {
      const answers = [];
      for (let round = 0; round < 4; round++) for (const [send, status, field] of hostile) answers.push({ answer: await send(), status, field });
      return answers;
    };
    // Tenants with a fresh read window each burst while the attackers send: each gets exactly its limit.
    const tenants = await Promise.all(['carol', 'dave', 'erin', 'frank'].map((name) => cp.researcher(name, name)));
    const bursts = tenants.map(async (tenant, i) => {
      await sleep(150 * i);
      return Promise.all(Array.from({ length: 20 }, () => cp.request('GET', '/v1/jobs', tenant.key)));
    });
    const [attacks, ...answered] = await Promise.all([Promise.all([attacker(), attacker()]), ...bursts]);
    for (const { answer, status, field } of attacks.flat()) {
      assert.equal(answer.status, status, answer.text.slice(0, 300));
      assert.equal(answer.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.equal(answer.json.status, status);
      assert.equal(answer.json.field, field);
    }
    for (const burst of answered) {
      const statuses = burst.map((answer) => answer.status);
      assert.equal(statuses.filter((s) => s === 200).length, 5, `the limiter let more through: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 429).length, 15, statuses.join(','));
    }
    assert.doesNotMatch(cp.keptLogs(), /rate limits not enforced/);
  });

  // Last: it locks this machine's address out for the rest of the minute.
  it('failed authentications lock out that credential from that address, not the other tenants behind it; past the address ceiling, everything from there', async () => {
    // Every tenant here shares 127.0.0.1, as behind a proxy. Alice's client retries a stale key
    // (her key's prefix, another tail) until it is locked out (auth=5/1m).
    const stale = `${alice.key.slice(0, -4)}AAAA`;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await cp.request('GET', '/v1/jobs', stale));
    assert.deepEqual(
      answers.map((a) => a.status),
      [401, 401, 401, 401, 401],
    );
    const locked = await cp.request('GET', '/v1/jobs', stale);
    assert.equal(locked.status, 429, locked.text);
    assert.equal(locked.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(locked.json.bucket, 'auth');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter >= 50 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const aliceValid = await cp.request('GET', '/v1/jobs', alice.key);
    assert.equal(aliceValid.status, 429, 'a right guess of that key is refused too: the lockout reveals nothing');
    assert.equal(aliceValid.json.bucket, 'auth');
    assert.equal((await cp.request('GET', '/v1/jobs', bob.key)).status, 200, "bob, behind the same address, is not locked out by alice's stale key");

    // Guessing with ever new keys stops at the address-wide ceiling (auth_address=12/1m; 6 failures
    // counted above: the one that went over the credential's limit counts too).
    const guesses = [...Array.from({ length: 5 }, (_, i) => `ak_${String(i).repeat(40)}`), 'not;a;key'];
    const guessed = [];
    for (const guess of guesses) guessed.push((await cp.request('GET', '/v1/jobs', guess)).status);
    assert.deepEqual(guessed, [401, 401, 401, 401, 401, 401]);
    const over = await cp.request('GET', '/v1/jobs', `ak_${'z'.repeat(40)}`);
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.bucket, 'auth_address');
    const bobNow = await cp.request('GET', '/v1/jobs', bob.key);
    assert.equal(bobNow.status, 429, 'past the ceiling nothing from the address is checked');
    assert.equal(bobNow.json.bucket, 'auth_address');
    // Public routes stay open (health, docs) and agents have their own per-address limits.
    assert.equal((await cp.request('GET', '/health/live', null)).status, 200);
  });
});
