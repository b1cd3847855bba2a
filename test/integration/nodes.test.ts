import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeartbeatMessage, JoinMessage, LatencyReport, privateKeyFromPem, publicKeyToText, signMessage } from '../../src/core/nodes/agent-protocol';
import { ControlPlane, freePort } from '../support/control-plane';
import { NodeAgent } from '../support/node-agent';

/**
 * Provider nodes end to end: join tokens, real agent processes joining, heartbeating and measuring
 * each other, the agent protocol's refusals, liveness with shortened timeouts, tenant isolation.
 */
describe('provider nodes: join, heartbeat, latency, liveness', { timeout: 120_000 }, () => {
  const cp = new ControlPlane('nodes', {
    islands: [{ name: 'local-a' }],
    redisDb: 3,
    env: {
      ARCHIPELAGO_NODE_HEARTBEAT_SECONDS: '1',
      ARCHIPELAGO_NODE_STALE_SECONDS: '2',
      ARCHIPELAGO_NODE_OFFLINE_SECONDS: '4',
      ARCHIPELAGO_NODE_SWEEP_INTERVAL_MS: '200',
      ARCHIPELAGO_API_KEY_CACHE_MS: '0',
    },
  });
  let dir: string;
  let acme: { id: string; key: string };
  let other: { id: string; key: string };
  let rita: { id: string; key: string };
  let agentA: NodeAgent;
  let agentB: NodeAgent;
  let singleUseToken: string;
  /** A node this test drives by hand, with a key it holds, to send exactly the messages it wants. */
  let manual: { id: string; key: KeyObject; seq: number };

  const post = (path: string, body: unknown, key: string | null = null) => cp.request('POST', path, key, body);
  const get = (path: string, key: string) => cp.request('GET', path, key);
  const newKey = () => generateKeyPairSync('ed25519').privateKey;
  const sign = (message: HeartbeatMessage | LatencyReport | JoinMessage, key: KeyObject) => ({ message, signature: signMessage(message, key) });
  const heartbeat = (nodeId: string, seq: number, over: Partial<HeartbeatMessage> = {}): HeartbeatMessage => ({
    purpose: 'heartbeat',
    nodeId,
    seq,
    sentAt: Date.now(),
    capacity: { cpusFree: 2, memoryFreeMb: 512, gpusFree: 0 },
    health: 'ok',
    slurmdState: 'none',
    ...over,
  });
  const joinMessage = (nonce: string, key: KeyObject, over: Partial<JoinMessage> = {}): JoinMessage => ({
    purpose: 'join',
    nonce,
    publicKey: publicKeyToText(createPublicKey(key)),
    inventory: { cpus: 4, memoryMb: 8192, gpus: [], features: [], performance: 'low' },
    tags: { region: 'eu-west' },
    probeAddress: '127.0.0.1:9',
    sentAt: Date.now(),
    ...over,
  });
  const newToken = async (maxUses = 1) => {
    const created = await post('/v1/join-tokens', { maxUses }, acme.key);
    assert.equal(created.status, 201, created.text);
    return created.json as { id: string; token: string };
  };
  const challenge = async (token: string) => {
    const answer = await post('/v1/agent/join-challenge', { token });
    assert.equal(answer.status, 200, answer.text);
    return answer.json.nonce as string;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'archipelago-nodes-test-'));
    await cp.start();
    acme = await cp.provider('acme-compute');
    other = await cp.provider('other-provider');
    rita = await cp.researcher('rita', 'rita');
    agentA = new NodeAgent(dir, 'a', cp.url);
    agentB = new NodeAgent(dir, 'b', cp.url);
  });
  after(async () => {
    await agentA?.stop();
    await agentB?.stop();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a provider admin creates a single-use join token; it is shown once and listed without its secret', async () => {
    const created = await post('/v1/join-tokens', {}, acme.key);
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.token, /^jt_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.json.maxUses, 1);
    assert.equal(created.json.uses, 0);
    assert.equal(created.json.state, 'active');
    assert.equal(created.json.providerId, acme.id);
    const lifetime = new Date(created.json.expiresAt).getTime() - Date.now();
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `default lifetime 1 h, got ${lifetime} ms`);
    singleUseToken = created.json.token;

    const listed = await get('/v1/join-tokens', acme.key);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.json.items.map((t: any) => t.id),
      [created.json.id],
    );
    assert.equal(listed.json.items[0].token, undefined);
    assert.ok(!listed.text.includes(singleUseToken));
    assert.deepEqual((await get('/v1/join-tokens', other.key)).json.items, [], "another provider's tokens are not listed");

    assert.equal((await post('/v1/join-tokens', { maxUses: 0 }, acme.key)).status, 400);
    assert.equal((await post('/v1/join-tokens', { maxUses: 1001 }, acme.key)).status, 400);
    const tooLong = await post('/v1/join-tokens', { expiresInSeconds: 8 * 24 * 3600 }, acme.key);
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.json.field, 'expiresInSeconds');
    assert.equal((await post('/v1/join-tokens', { providerId: acme.id }, other.key)).status, 403, 'a provider cannot mint tokens for another');
    assert.equal((await post('/v1/join-tokens', {}, rita.key)).status, 403, 'a researcher cannot mint tokens');
    const adminWithout = await post('/v1/join-tokens', {}, cp.adminKey);
    assert.equal(adminWithout.status, 400);
    assert.equal(adminWithout.json.field, 'providerId');
    const adminFor = await post('/v1/join-tokens', { providerId: acme.id, maxUses: 2, expiresInSeconds: 600 }, cp.adminKey);
    assert.equal(adminFor.status, 201, adminFor.text);
    assert.equal(adminFor.json.providerId, acme.id);
    assert.equal((await post('/v1/join-tokens', { providerId: rita.id }, cp.adminKey)).status, 400, 'only provider admins own tokens');

    // Only provider and platform admins may hold the provider scope.
    const scoped = await post(`/v1/principals/${rita.id}/api-keys`, { scopes: ['provider'] }, cp.adminKey);
    assert.equal(scoped.status, 400);
    assert.equal(scoped.json.field, 'scopes');
  });

  it('a real agent joins with it and heartbeats; the node is ACTIVE with its inventory', async () => {
    assert.equal((await agentA.keygen()).code, 0);
    assert.equal(statSync(agentA.keyFile).mode & 0o777, 0o600);
    const again = await agentA.keygen();
    assert.equal(again.code, 2, 'keygen refuses to overwrite a key');
    assert.match(again.stderr, /refusing to overwrite/);

    const probePort = await freePort();
    const joined = await agentA.join(singleUseToken, [
      '--region',
      'eu-west',
      '--zone',
      'eu-west-1a',
      '--rack',
      'r12',
      '--features',
      'avx2,nvme',
      '--performance',
      'high',
      '--probe-host',
      '127.0.0.1',
      '--probe-port',
      String(probePort),
    ]);
    assert.equal(joined.code, 0, joined.stdout + joined.stderr);
    assert.equal(statSync(agentA.stateFile).mode & 0o777, 0o600);
    const nodeId = agentA.nodeId;

    const pending = await get(`/v1/nodes/${nodeId}`, acme.key);
    assert.equal(pending.status, 200, pending.text);
    assert.equal(pending.json.state, 'PENDING', 'a node is PENDING until its first heartbeat');
    assert.equal(pending.json.name, 'acme-compute-1');
    assert.equal(pending.json.providerId, acme.id);
    assert.deepEqual(pending.json.inventory, {
      cpus: availableParallelism(),
      memoryMb: Math.floor(totalmem() / 1024 / 1024),
      gpus: pending.json.inventory.gpus,
      features: ['avx2', 'nvme'],
      performance: 'high',
    });
    assert.ok(Array.isArray(pending.json.inventory.gpus));
    // The provider group is the token's provider's, set by the control plane (the agent named none).
    assert.deepEqual(pending.json.tags, { region: 'eu-west', zone: 'eu-west-1a', rack: 'r12', providerGroup: 'acme-compute' });
    assert.equal(pending.json.probeAddress, `127.0.0.1:${probePort}`);

    agentA.start(['--interval', '1', '--probe-interval', '1', '--probes', '5']);
    const active = await cp.waitFor(acme.key, `/v1/nodes/${nodeId}`, (n) => n.state === 'ACTIVE' && n.lastSeq >= 2, 15000);
    assert.ok(active.lastHeartbeatAt);
    assert.equal(active.health, 'ok');
    assert.ok(active.capacity.memoryFreeMb > 0);
    assert.ok(agentA.state().seq >= active.lastSeq, 'the agent persists its seq');
  });

  it('refuses the used-up token (410), a forged one (401) and a join that reuses it', async () => {
    const used = await post('/v1/agent/join-challenge', { token: singleUseToken });
    assert.equal(used.status, 410, used.text);
    assert.equal(used.json.tokenState, 'used_up');
    assert.equal(used.headers.get('content-type')?.split(';')[0], 'application/problem+json');

    const forged = await post('/v1/agent/join-challenge', { token: `jt_${randomBytes(32).toString('base64url')}` });
    assert.equal(forged.status, 401);
    assert.equal(forged.json.field, 'token');
    assert.equal((await post('/v1/agent/join-challenge', { token: 'not-a-token' })).status, 401);

    const second = new NodeAgent(dir, 'second', cp.url);
    await second.keygen();
    const refused = await second.join(singleUseToken, ['--probe-host', '127.0.0.1']);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /410/);

    const listed = await get('/v1/join-tokens', acme.key);
    const token = listed.json.items.find((t: any) => singleUseToken.startsWith(t.prefix));
    assert.equal(token.state, 'used_up');
    assert.equal(token.uses, 1);
  });

  it('refuses a replayed join (same nonce: 409), a wrong signature (401), a skewed clock (400), a taken key (409)', async () => {
    const { id: tokenId, token } = await newToken(5);
    const key = newKey();
    const nonce = await challenge(token);
    const body = { token, ...sign(joinMessage(nonce, key), key) };
    const joined = await post('/v1/agent/join', body);
    assert.equal(joined.status, 201, joined.text);
    assert.equal(joined.json.state, 'PENDING');
    assert.equal(joined.json.name, 'acme-compute-2');
    assert.equal(joined.json.heartbeatIntervalSeconds, 1);
    assert.ok(Array.isArray(joined.json.probePeers));
    manual = { id: joined.json.nodeId, key, seq: 0 };

    const replay = await post('/v1/agent/join', body);
    assert.equal(replay.status, 409, replay.text);
    assert.equal(replay.json.field, 'message.nonce');

    const stranger = newKey();
    const wrongSigner = joinMessage(await challenge(token), newKey());
    const unsigned = await post('/v1/agent/join', { token, message: wrongSigner, signature: signMessage(wrongSigner, stranger) });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.json.field, 'signature');

    const late = newKey();
    const skewed = await post('/v1/agent/join', { token, ...sign(joinMessage(await challenge(token), late, { sentAt: Date.now() - 5 * 60_000 }), late) });
    assert.equal(skewed.status, 400);
    assert.equal(skewed.json.field, 'message.sentAt');

    const foreignNonce = await post('/v1/agent/join', { token, ...sign(joinMessage(randomBytes(24).toString('base64url'), late), late) });
    assert.equal(foreignNonce.status, 401);
    assert.equal(foreignNonce.json.field, 'message.nonce');

    const taken = await post('/v1/agent/join', { token, ...sign(joinMessage(await challenge(token), key), key) });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.field, 'message.publicKey');

    const badInventory = newKey();
    const inventory = await post('/v1/agent/join', {
      token,
      ...sign(
        joinMessage(await challenge(token), badInventory, { inventory: { cpus: 0, memoryMb: 8192, gpus: [], features: [], performance: 'low' } }),
        badInventory,
      ),
    });
    assert.equal(inventory.status, 400);
    assert.equal(inventory.json.field, 'message.inventory.cpus');

    const tokens = await get('/v1/join-tokens', acme.key);
    assert.equal(tokens.json.items.find((t: any) => t.id === tokenId).uses, 1, 'refused joins do not use up the token');
  });

  it('concurrent joins cannot overdraw a token', async () => {
    const { token } = await newToken(2);
    const attempts = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const key = newKey();
        return post('/v1/agent/join', { token, ...sign(joinMessage(await challenge(token).catch(() => 'x'.repeat(32)), key), key) });
      }),
    );
    const statuses = attempts.map((a) => a.status).sort();
    assert.deepEqual(statuses.filter((s) => s === 201).length, 2, `statuses: ${statuses.join(', ')}`);
    assert.ok(
      statuses.filter((s) => s !== 201).every((s) => s === 410 || s === 401),
      `statuses: ${statuses.join(', ')}`,
    );
    const names = attempts
      .filter((a) => a.status === 201)
      .map((a) => a.json.name)
      .sort();
    assert.equal(new Set(names).size, 2, 'distinct node names');
    for (const a of attempts.filter((x) => x.status === 201)) {
      assert.equal((await cp.request('DELETE', `/v1/nodes/${a.json.nodeId}`, acme.key)).status, 200);
    }
  });

  it('heartbeats: a forged one is 401, a replayed seq 409, a skewed clock 400', async () => {
    const first = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 1), manual.key));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.state, 'ACTIVE');
    assert.equal(first.json.nextHeartbeatSeconds, 1);
    assert.ok(
      first.json.probePeers.some((p: any) => p.nodeId === agentA.nodeId),
      'agent A is a probe peer',
    );

    const forged = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 2), newKey()));
    assert.equal(forged.status, 401, forged.text);
    assert.equal(forged.json.field, 'signature');

    const replayed = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 1), manual.key));
    assert.equal(replayed.status, 409, replayed.text);
    assert.equal(replayed.json.field, 'message.seq');
    assert.equal(replayed.json.lastSeq, 1);

    const skewed = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 2, { sentAt: Date.now() - 5 * 60_000 }), manual.key));
    assert.equal(skewed.status, 400, skewed.text);
    assert.equal(skewed.json.field, 'message.sentAt');
    const future = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 2, { sentAt: Date.now() + 5 * 60_000 }), manual.key));
    assert.equal(future.status, 400);

    const unknown = await post('/v1/agent/heartbeat', sign(heartbeat(randomUUID(), 1), manual.key));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json.field, 'message.nodeId');
    const malformed = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 2, { health: 'great' as 'ok' }), manual.key));
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.field, 'message.health');

    const next = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, 2), manual.key));
    assert.equal(next.status, 200, 'refused messages did not advance the seq');
    manual.seq = 2;
  });

  it('latency reports keep samples to known nodes only and refuse impossible values', async () => {
    const report = (samples: unknown[]): LatencyReport => ({
      purpose: 'latency',
      nodeId: manual.id,
      seq: ++manual.seq,
      sentAt: Date.now(),
      samples: samples as LatencyReport['samples'],
    });
    const stranger = randomUUID();
    const ok = await post(
      '/v1/agent/latency',
      sign(
        report([
          { peer: agentA.nodeId, rttMs: 0.25, loss: 0, probes: 5 },
          { peer: stranger, rttMs: 1, loss: 0, probes: 5 },
        ]),
        manual.key,
      ),
    );
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.accepted, 1);
    assert.deepEqual(ok.json.ignored, [stranger]);

    const slow = await post('/v1/agent/latency', sign(report([{ peer: agentA.nodeId, rttMs: 20_000, loss: 0, probes: 5 }]), manual.key));
    assert.equal(slow.status, 400);
    assert.equal(slow.json.field, 'message.samples[0].rttMs');
    const lossy = await post('/v1/agent/latency', sign(report([{ peer: agentA.nodeId, rttMs: 1, loss: 1.5, probes: 5 }]), manual.key));
    assert.equal(lossy.status, 400);
    assert.equal(lossy.json.field, 'message.samples[0].loss');
    const replayed = await post('/v1/agent/latency', sign({ ...report([]), seq: 1 }, manual.key));
    assert.equal(replayed.status, 409);

    const matrix = await get(`/v1/latency?nodes=${manual.id},${agentA.nodeId}`, acme.key);
    assert.equal(matrix.status, 200, matrix.text);
    const sample = matrix.json.samples.find((s: any) => s.from === manual.id && s.to === agentA.nodeId);
    assert.equal(sample.rttMs, 0.25);
    assert.equal(sample.probes, 5);
  });

  it('two real agents measure each other', async () => {
    const { token } = await newToken();
    await agentB.keygen();
    const joined = await agentB.join(token, ['--region', 'eu-west', '--probe-host', '127.0.0.1', '--probe-port', String(await freePort())]);
    assert.equal(joined.code, 0, joined.stdout + joined.stderr);
    agentB.start(['--interval', '1', '--probe-interval', '1']);
    const a = agentA.nodeId;
    const b = agentB.nodeId;
    const both = await cp
      .waitFor(
        acme.key,
        `/v1/latency?nodes=${a},${b}`,
        (m) => {
          const ab = m.samples.find((s: any) => s.from === a && s.to === b);
          const ba = m.samples.find((s: any) => s.from === b && s.to === a);
          return ab && ba && ab.loss === 0 && ba.loss === 0;
        },
        20000,
        250,
      )
      .catch((error) => {
        throw new Error(`${error.message}\nagent A:\n${agentA.recentLogs()}\nagent B:\n${agentB.recentLogs()}`);
      });
    for (const s of both.samples) {
      assert.ok(s.rttMs >= 0 && s.rttMs < 100, `loopback RTT ${s.rttMs} ms`);
      assert.equal(s.probes, 5);
    }
    assert.deepEqual(both.nodes.map((n: any) => n.id).sort(), [a, b].sort());
    const [i, j] = both.nodes[0].id === a ? [0, 1] : [1, 0];
    assert.equal(typeof both.matrix[i][j], 'number');
    assert.equal(typeof both.matrix[j][i], 'number');
    assert.equal(both.matrix[i][i], null);
  });

  it('a stopped agent goes STALE, then OFFLINE; a heartbeat brings a silent node back to ACTIVE', async () => {
    const seen: string[] = [];
    assert.equal(await agentA.stop(), 0, 'SIGTERM stops the agent cleanly');
    const stoppedAt = Date.now();
    const path = `/v1/nodes/${agentA.nodeId}`;
    await cp.waitFor(
      acme.key,
      path,
      (n) => {
        if (seen[seen.length - 1] !== n.state) seen.push(n.state);
        return n.state === 'OFFLINE';
      },
      12000,
      100,
    );
    const elapsed = Date.now() - stoppedAt;
    assert.deepEqual(
      seen.filter((s) => s !== 'ACTIVE'),
      ['STALE', 'OFFLINE'],
      `states seen: ${seen.join(' → ')}`,
    );
    assert.ok(elapsed >= 3000, `OFFLINE after ${elapsed} ms of silence (4 s configured)`);

    // The manual node has been silent all along: it is STALE or OFFLINE by now.
    const silent = await cp.waitFor(acme.key, `/v1/nodes/${manual.id}`, (n) => n.state === 'OFFLINE', 8000);
    assert.equal(silent.state, 'OFFLINE');
    const back = await post('/v1/agent/heartbeat', sign(heartbeat(manual.id, ++manual.seq), manual.key));
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.state, 'ACTIVE');
  });

  it('another provider sees nothing of it (404), researchers nothing at all (403); platform admins see all', async () => {
    const a = agentA.nodeId;
    const missing = await get(`/v1/nodes/${randomUUID()}`, other.key);
    const foreign = await get(`/v1/nodes/${a}`, other.key);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json.title, missing.json.title);
    assert.equal((await get('/v1/nodes', other.key)).json.items.length, 0);
    assert.equal((await post(`/v1/nodes/${a}/drain`, { reason: 'mine now' }, other.key)).status, 404);
    assert.equal((await post(`/v1/nodes/${a}/resume`, {}, other.key)).status, 404);
    assert.equal((await cp.request('DELETE', `/v1/nodes/${a}`, other.key)).status, 404);
    assert.equal((await get(`/v1/latency?nodes=${a}`, other.key)).status, 404);
    const otherMatrix = await get('/v1/latency', other.key);
    assert.deepEqual(otherMatrix.json.samples, []);
    const acmeTokens = (await get('/v1/join-tokens', acme.key)).json.items;
    assert.equal((await cp.request('DELETE', `/v1/join-tokens/${acmeTokens[0].id}`, other.key)).status, 404);

    assert.equal((await get('/v1/nodes', rita.key)).status, 403);
    assert.equal((await get(`/v1/nodes/${a}`, rita.key)).status, 403);
    assert.equal((await get('/v1/nodes', 'ak_forged')).status, 401);

    const all = await get('/v1/nodes', cp.adminKey);
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.json.items.filter((n: any) => n.state !== 'DEREGISTERED').map((n: any) => n.name),
      ['acme-compute-1', 'acme-compute-2', 'acme-compute-5'],
    );
    assert.equal(all.json.items.filter((n: any) => n.state === 'DEREGISTERED').length, 2);
    assert.equal((await get(`/v1/nodes?state=OFFLINE&providerId=${acme.id}`, cp.adminKey)).json.items[0].id, a);
    assert.equal((await get('/v1/nodes?state=SLEEPING', cp.adminKey)).status, 400);
  });

  it('a restarted agent continues its seq, even from a stale state file, and is ACTIVE again', async () => {
    const before = (await get(`/v1/nodes/${agentA.nodeId}`, acme.key)).json.lastSeq;
    const state = JSON.parse(readFileSync(agentA.stateFile, 'utf8'));
    writeFileSync(agentA.stateFile, JSON.stringify({ ...state, seq: 1 }));
    agentA.start(['--interval', '1', '--probe-interval', '60']);
    const back = await cp.waitFor(acme.key, `/v1/nodes/${agentA.nodeId}`, (n) => n.state === 'ACTIVE', 8000);
    assert.ok(back.lastSeq > before, `seq ${back.lastSeq} continues after ${before}`);
    assert.match(agentA.recentLogs(), /continuing after/);
    assert.ok(agentA.state().seq >= back.lastSeq);
  });

  it('drain, resume and deregister; the deregistered agent is told 410 and exits', async () => {
    const b = agentB.nodeId;
    const drained = await post(`/v1/nodes/${b}/drain`, { reason: 'disk replacement' }, acme.key);
    assert.equal(drained.status, 200, drained.text);
    assert.equal(drained.json.state, 'DRAINING');
    assert.equal(drained.json.drainedReason, 'disk replacement');
    const seqBefore = drained.json.lastSeq;
    const still = await cp.waitFor(acme.key, `/v1/nodes/${b}`, (n) => n.lastSeq > seqBefore + 1, 5000);
    assert.equal(still.state, 'DRAINING', 'heartbeats keep a drained node DRAINING');
    assert.equal((await post(`/v1/nodes/${b}/drain`, {}, acme.key)).status, 400, 'a drain needs a reason');

    const resumed = await post(`/v1/nodes/${b}/resume`, {}, acme.key);
    assert.equal(resumed.status, 200);
    assert.equal(resumed.json.state, 'ACTIVE');
    assert.equal(resumed.json.drainedReason, null);

    const gone = await cp.request('DELETE', `/v1/nodes/${b}`, acme.key);
    assert.equal(gone.status, 200, gone.text);
    assert.equal(gone.json.state, 'DEREGISTERED');
    assert.ok(gone.json.deregisteredAt);
    assert.equal((await cp.request('DELETE', `/v1/nodes/${b}`, acme.key)).status, 200, 'deregistering is idempotent');
    assert.equal((await post(`/v1/nodes/${b}/drain`, { reason: 'x' }, acme.key)).status, 409);
    assert.equal(await agentB.exited(5000), 3, 'the agent exits with 3 once told its node was deregistered');
    assert.match(agentB.recentLogs(), /410/);
  });

  it('a revoked token is refused with 403', async () => {
    const { id, token } = await newToken(3);
    const nonce = await challenge(token);
    assert.equal((await cp.request('DELETE', `/v1/join-tokens/${id}`, acme.key)).status, 204);
    assert.equal((await cp.request('DELETE', `/v1/join-tokens/${id}`, acme.key)).status, 204, 'revoking is idempotent');
    const refused = await post('/v1/agent/join-challenge', { token });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.tokenState, 'revoked');
    const key = newKey();
    const join = await post('/v1/agent/join', { token, ...sign(joinMessage(nonce, key), key) });
    assert.equal(join.status, 403, 'a nonce issued before the revocation does not help');
    const listed = (await get('/v1/join-tokens', acme.key)).json.items.find((t: any) => t.id === id);
    assert.equal(listed.state, 'revoked');
  });

  it('the agent key file is a PKCS#8 Ed25519 PEM the agent alone can read', () => {
    const key = privateKeyFromPem(readFileSync(agentA.keyFile, 'utf8'));
    assert.equal(key.asymmetricKeyType, 'ed25519');
  });

  it('describes the new endpoints in the OpenAPI document', async () => {
    const spec = (await cp.request('GET', '/openapi.json', null)).json;
    for (const [path, method] of [
      ['/v1/join-tokens', 'post'],
      ['/v1/join-tokens/{id}', 'delete'],
      ['/v1/agent/join-challenge', 'post'],
      ['/v1/agent/join', 'post'],
      ['/v1/agent/heartbeat', 'post'],
      ['/v1/agent/latency', 'post'],
      ['/v1/nodes', 'get'],
      ['/v1/nodes/{id}/drain', 'post'],
      ['/v1/latency', 'get'],
    ]) {
      assert.ok(spec.paths[path]?.[method], `${method.toUpperCase()} ${path} is described`);
    }
  });
});
