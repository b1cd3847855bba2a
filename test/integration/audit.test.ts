import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ControlPlane } from '../support/control-plane';
import { ManualNode } from '../support/manual-node';

/**
 * The audit trail end to end: each security-relevant action leaves an entry naming who did what
 * to what; the table refuses UPDATE and DELETE; a row changed behind the trigger's back (as a
 * superuser would) is found by /v1/audit/verify.
 */
const WITNESS_FILE = join(mkdtempSync(join(tmpdir(), 'audit-witness-')), 'head.jsonl');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('audit trail: append-only, hash-chained, queryable by admins', { timeout: 120_000 }, () => {
  const cp = new ControlPlane('audit', {
    islands: [{ name: 'local-a' }],
    redisDb: 12,
    databaseName: 'hard_audit',
    env: {
      ARCHIPELAGO_API_KEY_CACHE_MS: '0',
      ARCHIPELAGO_RATE_LIMITS: 'off',
      ARCHIPELAGO_AUDIT_WITNESS_FILE: WITNESS_FILE,
      ARCHIPELAGO_AUDIT_WITNESS_INTERVAL_MS: '200',
    },
  });
  let db: Client;
  let acme: { id: string; key: string };
  let bootstrapId: string;

  const audit = async (query: string) => {
    const answer = await cp.request('GET', `/v1/audit?${query}`, cp.adminKey);
    assert.equal(answer.status, 200, answer.text);
    return answer.json.items as Array<{
      seq: number;
      at: string;
      actor: string;
      action: string;
      target: string | null;
      details: any;
      hash: string;
      prevHash: string;
    }>;
  };

  before(async () => {
    await cp.start();
    cp.killWorker();
    db = new Client({ connectionString: cp.databaseUrl });
    await db.connect();
    bootstrapId = (await db.query(`SELECT id FROM principals WHERE name = 'bootstrap-admin'`)).rows[0].id;
  });
  after(async () => {
    await db?.end();
    await cp.stop();
  });

  it('records principals and API keys: creation and revocation, by whom, without the key', async () => {
    acme = await cp.provider('acme');
    const created = await audit(`target=principal:${acme.id}`);
    assert.deepEqual(
      created.map((e) => [e.action, e.actor]),
      [['principal.create', `principal:${bootstrapId}`]],
    );
    assert.equal(created[0].details.kind, 'provider_admin');
    assert.equal(created[0].details.credential, 'bootstrap');

    const extra = await cp.request('POST', `/v1/principals/${acme.id}/api-keys`, cp.adminKey, { scopes: ['provider'] });
    assert.equal(extra.status, 201);
    assert.equal((await cp.request('GET', '/v1/nodes', extra.json.key)).status, 200);
    assert.equal((await cp.request('DELETE', `/v1/api-keys/${extra.json.id}`, cp.adminKey)).status, 204);
    assert.equal((await cp.request('GET', '/v1/nodes', extra.json.key)).status, 401, 'a revoked key is refused at once (cache off)');
    const keyTrail = await audit(`target=api_key:${extra.json.id}`);
    assert.deepEqual(
      keyTrail.map((e) => e.action),
      ['api_key.create', 'api_key.revoke'],
    );
    assert.deepEqual(keyTrail[0].details.scopes, ['provider']);
    assert.equal(keyTrail[0].details.prefix, extra.json.prefix);
    const all = (await cp.request('GET', '/v1/audit?limit=1000', cp.adminKey)).text;
    assert.ok(!all.includes(extra.json.key) && !all.includes(acme.key) && !all.includes(cp.adminKey), 'no key in the trail');
  });

  it('records join tokens, node joins and node drain/resume/deregister', async () => {
    const token = await cp.request('POST', '/v1/join-tokens', acme.key, { maxUses: 2 });
    assert.equal(token.status, 201);
    assert.equal((await cp.request('DELETE', `/v1/join-tokens/${token.json.id}`, acme.key)).status, 204);
    assert.deepEqual(
      (await audit(`target=join_token:${token.json.id}`)).map((e) => [e.action, e.actor]),
      [
        ['join_token.create', `principal:${acme.id}`],
        ['join_token.revoke', `principal:${acme.id}`],
      ],
    );

    const node = new ManualNode(cp);
    await node.join(acme.key);
    assert.equal((await node.heartbeat()).json.state, 'ACTIVE');
    assert.equal((await cp.request('POST', `/v1/nodes/${node.id}/drain`, acme.key, { reason: 'disk swap' })).status, 200);
    assert.equal((await cp.request('POST', `/v1/nodes/${node.id}/resume`, acme.key)).status, 200);
    assert.equal((await cp.request('DELETE', `/v1/nodes/${node.id}`, cp.adminKey)).status, 200);
    const trail = await audit(`target=node:${node.id}`);
    assert.deepEqual(
      trail.map((e) => e.action),
      ['node.join', 'node.drain', 'node.resume', 'node.deregister'],
    );
    assert.match(trail[0].actor, /^join_token:/);
    assert.equal(trail[0].details.providerId, acme.id);
    assert.deepEqual([trail[1].details.from, trail[1].details.to, trail[1].details.reason], ['ACTIVE', 'DRAINING', 'disk swap']);
    assert.equal(trail[1].actor, `principal:${acme.id}`);
    assert.equal(trail[3].actor, `principal:${bootstrapId}`, 'the admin who deregistered it');
    // A refused change leaves no entry.
    assert.equal((await cp.request('POST', `/v1/nodes/${node.id}/drain`, acme.key, { reason: 'again' })).status, 409);
    assert.equal((await audit(`target=node:${node.id}`)).length, 4);
  });

  it('records a cancel by an admin, not one by the job owner', async () => {
    const admin = await cp.request('POST', '/v1/principals', cp.adminKey, { name: 'ops', kind: 'platform_admin', slurmUser: 'alice' });
    const key = await cp.request('POST', `/v1/principals/${admin.json.id}/api-keys`, cp.adminKey, { scopes: ['admin', 'submit', 'read'] });
    const alice = await cp.researcher('alice', 'alice');
    const script = { script: '#!/bin/bash\ntrue\n', options: { hold: true } };
    const byAdmin = await cp.request('POST', '/v1/jobs', key.json.key, script);
    const byOwner = await cp.request('POST', '/v1/jobs', alice.key, script);
    assert.equal((await cp.request('DELETE', `/v1/jobs/${byAdmin.json.id}`, key.json.key)).status, 202);
    assert.equal((await cp.request('DELETE', `/v1/jobs/${byOwner.json.id}`, alice.key)).status, 202);
    const cancels = await audit('action=job.cancel');
    assert.deepEqual(
      cancels.map((e) => [e.target, e.actor]),
      [[`job:${byAdmin.json.id}`, `principal:${admin.json.id}`]],
    );
  });

  it('lists with filters and a cursor, admins only, and refuses malformed filters', async () => {
    const first = await cp.request('GET', '/v1/audit?limit=2', cp.adminKey);
    assert.equal(first.json.items.length, 2);
    assert.deepEqual(
      first.json.items.map((e: any) => e.seq),
      [1, 2],
    );
    const next = await cp.request('GET', `/v1/audit?limit=2&after=${first.json.nextAfter}`, cp.adminKey);
    assert.deepEqual(
      next.json.items.map((e: any) => e.seq),
      [3, 4],
    );
    assert.equal(next.json.items[0].prevHash, first.json.items[1].hash, 'each entry links to the one before');
    assert.equal((await audit('action=node.join&since=2000-01-01T00:00:00Z')).length, 1);
    assert.equal((await audit(`action=node.join&until=2000-01-01T00:00:00Z`)).length, 0);
    assert.equal((await cp.request('GET', '/v1/audit', acme.key)).status, 403);
    const bad = await cp.request('GET', `/v1/audit?actor=${encodeURIComponent("x' OR 1=1 --")}`, cp.adminKey);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'actor');
  });

  it('concurrent appends never fork the chain', async () => {
    const before = Number((await db.query('SELECT count(*) FROM audit_log')).rows[0].count);
    const created = await Promise.all(Array.from({ length: 24 }, () => cp.request('POST', '/v1/join-tokens', acme.key, {})));
    assert.ok(created.every((answer) => answer.status === 201));
    const { rows } = await db.query('SELECT count(*)::int AS n, max(seq)::int AS top, count(DISTINCT prev_hash)::int AS links FROM audit_log');
    assert.deepEqual(rows[0], { n: before + 24, top: before + 24, links: before + 24 });
    assert.equal((await cp.request('GET', '/v1/audit/verify', cp.adminKey)).json.ok, true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE, even by the table owner', async () => {
    for (const statement of ["UPDATE audit_log SET actor = 'x' WHERE seq = 1", 'DELETE FROM audit_log WHERE seq = 1', 'TRUNCATE audit_log']) {
      await assert.rejects(db.query(statement), /append-only/, statement);
    }
    const verdict = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
    assert.equal(verdict.status, 200);
    assert.equal(verdict.json.ok, true, verdict.text);
    const count = Number((await db.query('SELECT count(*) FROM audit_log')).rows[0].count);
    assert.equal(verdict.json.verified, count);
    assert.equal(verdict.json.head.seq, count);
  });

  it('the newest entries removed behind the trigger: the chain still links, the witnessed head exposes it', async () => {
    const before = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
    assert.equal(before.json.ok, true, before.text);
    const head = before.json.head as { seq: number; hash: string };
    // The witness (every 200 ms) writes the head outside the database once it moved.
    const witnessed = async () =>
      readFileSync(WITNESS_FILE, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await witnessed().catch(() => [])).at(-1)?.seq !== head.seq) await sleep(100);
    const lines = await witnessed();
    assert.deepEqual({ seq: lines.at(-1).seq, hash: lines.at(-1).hash }, head);
    assert.ok(
      lines.every((line, i) => i === 0 || line.seq > lines[i - 1].seq),
      'a line only when the head moved',
    );

    const newest = (await db.query('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq', [head.seq - 2])).rows;
    await db.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
    try {
      await db.query('DELETE FROM audit_log WHERE seq > $1', [head.seq - 2]);
      const truncated = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
      assert.equal(truncated.json.ok, false, truncated.text);
      assert.equal(truncated.json.verified, head.seq - 2, 'every remaining link holds');
      assert.equal(truncated.json.firstBroken.seq, head.seq - 1);
      assert.match(truncated.json.firstBroken.reason, new RegExp(`entries ${head.seq - 1} to ${head.seq} are gone`));

      // A head an auditor kept from an earlier verify does the same job, given in the request.
      const earlier = { witnessSeq: String(head.seq - 1), witnessHash: newest[0].hash.toString('hex') };
      const byRequest = await cp.request('GET', `/v1/audit/verify?${new URLSearchParams(earlier)}`, cp.adminKey);
      assert.equal(byRequest.json.ok, false);
      assert.deepEqual(byRequest.json.witnesses.at(-1), { seq: head.seq - 1, hash: earlier.witnessHash });
      const half = await cp.request('GET', `/v1/audit/verify?witnessSeq=3`, cp.adminKey);
      assert.equal(half.status, 400);
      assert.equal(half.json.field, 'witnessHash');
      const badHash = await cp.request('GET', `/v1/audit/verify?witnessSeq=3&witnessHash=xyz`, cp.adminKey);
      assert.equal(badHash.status, 400);
      assert.equal(badHash.json.field, 'witnessHash');
    } finally {
      for (const row of newest) {
        await db.query('INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          row.seq,
          row.at,
          row.actor,
          row.action,
          row.target,
          row.details,
          row.prev_hash,
          row.hash,
        ]);
      }
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    }
    const restored = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
    assert.equal(restored.json.ok, true, `the same rows back: the chain and the witness agree again ${restored.text}`);
    // A rewritten entry at the witnessed seq: linked, but not the entry the witness saw.
    const forged = await cp.request('GET', `/v1/audit/verify?witnessSeq=${head.seq}&witnessHash=${'0'.repeat(64)}`, cp.adminKey);
    assert.equal(forged.json.ok, false);
    assert.equal(forged.json.firstBroken.seq, head.seq);
    assert.match(forged.json.firstBroken.reason, /hash differs from the witnessed head/);
  });

  it('a row altered behind the trigger is found by verify, as is a deleted one', async () => {
    const victim = (await audit('action=node.drain'))[0];
    await db.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
    try {
      await db.query(`UPDATE audit_log SET details = jsonb_set(details, '{reason}', '"routine"') WHERE seq = $1`, [victim.seq]);
      const altered = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
      assert.equal(altered.json.ok, false);
      assert.deepEqual(altered.json.firstBroken, { seq: victim.seq, reason: 'hash does not match the entry: it was altered' });
      assert.equal(altered.json.verified, victim.seq - 1);

      // Put it back: the chain verifies again; then remove an earlier row instead.
      await db.query(`UPDATE audit_log SET details = jsonb_set(details, '{reason}', '"disk swap"') WHERE seq = $1`, [victim.seq]);
      assert.equal((await cp.request('GET', '/v1/audit/verify', cp.adminKey)).json.ok, true);
      await db.query('DELETE FROM audit_log WHERE seq = 2');
      const deleted = await cp.request('GET', '/v1/audit/verify', cp.adminKey);
      assert.equal(deleted.json.ok, false);
      assert.equal(deleted.json.firstBroken.seq, 3);
      assert.match(deleted.json.firstBroken.reason, /expected seq 2/);
    } finally {
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    }
  });
});
