import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { canonicalJson } from '../../src/core/common/canonical-json';
import { verifyUsageSignature } from '../../src/core/usage/signer';
import { ensureAccountingIsland } from '../support/accounting-island';
import { ControlPlane, TERMINAL } from '../support/control-plane';

const ISLAND = 'acct-a';
const script = (body: string, directives: string[] = []) => ['#!/bin/bash', ...directives.map((d) => `#SBATCH ${d}`), body, ''].join('\n');
const ended = (job: { state: string }) => TERMINAL.has(job.state);

/** SLURM's accounting as root with the CLI: the truth the records are checked against. */
function sacct(slurmConf: string, slurmJobId: number): any[] {
  const out = execFileSync('sacct', ['--json', '-a', '-D', '-j', String(slurmJobId)], { env: { ...process.env, SLURM_CONF: slurmConf } });
  return JSON.parse(out.toString()).jobs;
}

const tres = (record: any, type: string) => record.tres.allocated.find((t: any) => t.type === type)?.count ?? 0;

/**
 * Accounting end to end on a real island with slurmdbd (this suite's own, acct-a, index 5): jobs
 * run through the real control plane (API + worker processes), and their usage records are
 * checked against what SLURM's accounting says they were allocated.
 */
describe('usage accounting (island acct-a with slurmdbd)', { timeout: 400_000 }, () => {
  const { islandsFile, slurmConf } = ensureAccountingIsland(ISLAND, 5);
  const keyDir = mkdtempSync(join(tmpdir(), 'usage-key-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const keyFile = join(keyDir, 'provider.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const cp = new ControlPlane('usage', {
    islands: [{ name: ISLAND }],
    islandsSource: islandsFile,
    databaseName: 'usage_integration',
    redisDb: 10,
    env: {
      ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: keyFile,
      ARCHIPELAGO_USAGE_INTERVAL_MS: '200',
      // every accounting transaction stays open this long: the crash test kills the worker inside one
      ARCHIPELAGO_USAGE_COMMIT_DELAY_MS: '400',
    },
  });
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let db: Client;

  before(async () => {
    await cp.start();
    alice = await cp.researcher('alice', 'alice');
    bob = await cp.researcher('bob', 'bob');
    db = new Client({ connectionString: cp.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await cp.stop();
  });

  const submit = async (body: unknown) => {
    const res = await cp.request('POST', '/v1/jobs', alice.key, body);
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };
  const accounted = (id: string, timeoutMs = 60_000) => cp.waitFor(alice.key, `/v1/jobs/${id}/usage`, (u) => u.status === 'ACCOUNTED', timeoutMs, 200);

  it('a two-node job: usage = its real allocation × elapsed, per node, signed, in the outbox', async () => {
    const id = await submit({ script: script('srun true; sleep 2', ['--nodes=2', '--ntasks=3', '--mem-per-cpu=100', '--time=2']) });
    const job = await cp.waitForJob(alice.key, id, ended);
    assert.equal(job.state, 'COMPLETED');
    const usage = await accounted(id);
    const [truth] = sacct(slurmConf, job.slurmJobId);
    assert.deepEqual([tres(truth, 'cpu'), tres(truth, 'mem'), tres(truth, 'node')], [3, 300, 2], 'SLURM allocated what was asked');
    const elapsed = truth.time.elapsed;
    assert.ok(elapsed >= 2, `elapsed ${elapsed}`);
    const { record } = usage;
    assert.deepEqual(record.usage.key, { island: ISLAND, slurmJobId: job.slurmJobId, submitTime: truth.time.submission });
    const m = record.usage.metrics;
    assert.equal(m.wallSeconds, elapsed);
    assert.equal(m.cpuCoreSeconds, 3 * elapsed);
    assert.equal(m.memoryMbSeconds, 300 * elapsed);
    assert.equal(m.nodeSeconds, 2 * elapsed);
    assert.equal(m.nodesUsed, 2);
    // the batch step ran on the first node with 2 of the 3 tasks' CPUs
    const batch = truth.steps.find((s: any) => s.step.id === 'batch');
    assert.deepEqual(
      record.usage.nodes.map((n: any) => [n.node, n.cpuCoreSeconds, n.memoryMbSeconds]),
      [
        [batch.nodes.list[0], tres(batch, 'cpu') * elapsed, tres(batch, 'mem') * elapsed],
        [['acct-a-n1', 'acct-a-n2'].find((n) => n !== batch.nodes.list[0]), (3 - tres(batch, 'cpu')) * elapsed, (300 - tres(batch, 'mem')) * elapsed],
      ].sort(),
    );
    // the hash is the SHA-256 of the canonical record, and the provider key's signature verifies
    assert.equal(usage.contentHash, createHash('sha256').update(canonicalJson(record)).digest('hex'));
    assert.equal(verifyUsageSignature('ed25519', usage.signature.publicKey, usage.contentHash, Buffer.from(usage.signature.value, 'base64')), true);
    assert.equal(usage.report.status, 'PENDING');
    // the bill is split exactly
    const r = record.billing.rewards;
    const parts =
      BigInt(r.platform) +
      r.providers.reduce((a: bigint, p: any) => a + BigInt(p.amount), 0n) +
      r.nodes.reduce((a: bigint, n: any) => a + BigInt(n.amount), 0n);
    assert.ok(BigInt(r.billed) > 0n);
    assert.equal(parts, BigInt(r.billed));
  });

  it("an array: every task counted under the master id; each task's CPU time is sacct's TotalCPU", async () => {
    // A second of busy shell: CPU time SLURM's accounting measures, unlike a sleep.
    const busy = 'end=$((SECONDS + 1)); while [ $SECONDS -lt $end ]; do :; done';
    const id = await submit({ script: script(busy, ['--array=1-3', '--cpus-per-task=2', '--time=2']) });
    const job = await cp.waitForJob(alice.key, id, ended);
    assert.equal(job.state, 'COMPLETED');
    const { record } = await accounted(id);
    const truth = sacct(slurmConf, job.slurmJobId);
    assert.equal(truth.length, 3);
    assert.equal(record.usage.metrics.runs, 3);
    assert.deepEqual(
      record.usage.runs.map((run: any) => run.arrayTaskId),
      [1, 2, 3],
    );
    const expectedCpuSeconds = truth.reduce((acc: number, t: any) => acc + tres(t, 'cpu') * t.time.elapsed, 0);
    assert.equal(record.usage.metrics.cpuCoreSeconds, expectedCpuSeconds);
    assert.ok(expectedCpuSeconds >= 3 * 2 * 1);
    // sacct's TotalCPU on a job's line: its steps' user + system time.
    const totalCpu = (t: any) => t.steps.reduce((sum: number, step: any) => sum + step.time.total.seconds + step.time.total.microseconds / 1e6, 0);
    const lines = (await cp.request('GET', `/v1/jobs?array=${id}`, alice.key)).json.items;
    assert.deepEqual(
      lines.map((l: any) => [l.arrayTaskId, l.cpuSeconds]),
      truth.map((t: any) => [t.array.task_id, totalCpu(t)]).sort((a: number[], b: number[]) => a[0] - b[0]),
    );
    assert.ok(
      lines.every((l: any) => l.cpuSeconds > 0),
      'the busy loop shows as CPU time (as SLURM samples it)',
    );
    const whole = (await cp.request('GET', `/v1/jobs/${id}`, alice.key)).json;
    assert.ok(Math.abs(whole.cpuSeconds - truth.reduce((acc: number, t: any) => acc + totalCpu(t), 0)) < 1e-6);
  });

  it('a requeued job: every run is paid for, keyed by its first submission', async () => {
    const id = await submit({ script: script('sleep 2', ['--requeue', '--time=2']) });
    const running = await cp.waitForJob(alice.key, id, (j) => j.state === 'RUNNING');
    const early = await cp.request('GET', `/v1/jobs/${id}/usage`, alice.key);
    assert.deepEqual(early.json, { jobId: id, status: 'RUNNING' });
    const env = { ...process.env, SLURM_CONF: slurmConf };
    execFileSync('scontrol', ['requeue', String(running.slurmJobId)], { env });
    // SLURM holds a requeued job back (Reason=BeginTime); let it start again at once
    const deadline = Date.now() + 20_000;
    for (;;) {
      const show = execFileSync('scontrol', ['show', 'job', String(running.slurmJobId)], { env }).toString();
      if (/JobState=PENDING/.test(show)) break;
      assert.ok(Date.now() < deadline, show);
      await new Promise((r) => setTimeout(r, 100));
    }
    // ...but not within the second of the requeue: its job credential is revoked by time, and a run
    // started in that second is killed at launch ("Job credential revoked") and ends FAILED
    await new Promise((r) => setTimeout(r, 2000));
    execFileSync('scontrol', ['update', `JobId=${running.slurmJobId}`, 'StartTime=now'], { env });
    const job = await cp.waitForJob(alice.key, id, ended, 90_000);
    assert.equal(job.state, 'COMPLETED');
    const { record } = await accounted(id, 90_000);
    const truth = sacct(slurmConf, job.slurmJobId);
    assert.deepEqual(
      truth.map((r: any) => r.state.current),
      ['REQUEUED', 'COMPLETED'],
    );
    const m = record.usage.metrics;
    assert.equal(m.runs, 2);
    assert.equal(m.requeuedRuns, 1);
    assert.equal(record.usage.key.submitTime, truth[0].time.submission);
    assert.equal(
      m.cpuCoreSeconds,
      truth.reduce((acc: number, r: any) => acc + tres(r, 'cpu') * r.time.elapsed, 0),
    );
    assert.equal(m.wallSeconds, truth[0].time.elapsed + truth[1].time.elapsed);
    assert.ok(truth[1].time.elapsed >= 2);
  });

  it('a job cancelled before it started: an empty, unbilled record', async () => {
    const id = await submit({ script: script('true', ['--hold', '--time=2']) });
    await cp.waitForJob(alice.key, id, (j) => j.slurmJobId > 0 && j.state === 'PENDING');
    const cancel = await cp.request('DELETE', `/v1/jobs/${id}`, alice.key);
    assert.ok(cancel.status < 300, cancel.text);
    const job = await cp.waitForJob(alice.key, id, ended);
    assert.equal(job.state, 'CANCELLED');
    const { record } = await accounted(id);
    assert.equal(record.usage.metrics.started, false);
    assert.equal(record.usage.metrics.cpuCoreSeconds, 0);
    assert.equal(record.billing.rewards.billed, '0');
  });

  it("tenant isolation: another researcher's job usage is not found; rewards need a provider or admin key", async () => {
    const id = await submit({ script: script('true', ['--time=2']) });
    await cp.waitForJob(alice.key, id, ended);
    const other = await cp.request('GET', `/v1/jobs/${id}/usage`, bob.key);
    assert.equal(other.status, 404);
    assert.match(other.headers.get('content-type') ?? '', /application\/problem\+json/);
    const rewards = await cp.request('GET', '/v1/rewards', alice.key);
    assert.equal(rewards.status, 403);
    assert.match(rewards.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  it('rewards: admins see every line; a provider sees only its own', async () => {
    const all = await cp.request('GET', '/v1/rewards', cp.adminKey);
    assert.equal(all.status, 200, all.text);
    const nodeLines = all.json.items.filter((i: any) => i.kind === 'node');
    assert.ok(nodeLines.some((i: any) => i.beneficiary === 'acct-a-n1' && i.provider === `island:${ISLAND}`));
    const [{ total_billed }] = (await db.query('SELECT sum(billed)::text AS total_billed FROM usage_records')).rows;
    const total = all.json.items.reduce((acc: bigint, i: any) => acc + BigInt(i.amount), 0n);
    assert.equal(total, BigInt(total_billed), 'reward lines add up to everything billed');
    const provider = await cp.provider('prov-x');
    const own = await cp.request('GET', '/v1/rewards', provider.key);
    assert.equal(own.status, 200);
    assert.deepEqual(own.json.items, []);
    const foreign = await cp.request('GET', `/v1/rewards?provider=${alice.id}`, provider.key);
    assert.equal(foreign.status, 403);
    const [{ job_id: someJob, billed }] = (await db.query('SELECT job_id::text, billed::text FROM usage_records WHERE billed > 0 LIMIT 1')).rows;
    const perJob = await cp.request('GET', `/v1/rewards/jobs/${someJob}`, cp.adminKey);
    assert.equal(perJob.status, 200, perJob.text);
    assert.deepEqual(
      perJob.json.lines
        .map((l: any) => l.kind)
        .sort()
        .slice(0, 1),
      ['node'],
    );
    assert.equal(
      perJob.json.lines.reduce((acc: bigint, l: any) => acc + BigInt(l.amount), 0n),
      BigInt(billed),
    );
    assert.equal((await cp.request('GET', `/v1/rewards/jobs/${someJob}`, provider.key)).status, 404, 'not one of its nodes');
    const bad = await cp.request('GET', '/v1/rewards?epoch=yesterday', cp.adminKey);
    assert.equal(bad.status, 400);
  });

  it('exactly one usage record per job when workers are killed mid-accounting and two race', async () => {
    const total = 8;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) ids.push(await submit({ script: script('true', ['--time=2', `--job-name=acct-crash-${i}`]) }));
    const openAccountingTx = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'
            AND (query ILIKE '%INSERT INTO usage_rewards%' OR query ILIKE '%INSERT INTO job_cpu_times%')`,
        )
      ).rows[0].n;
    const records = async () => (await db.query('SELECT count(*)::int AS n FROM usage_records WHERE job_id = ANY($1)', [ids])).rows[0].n;
    const atKills: number[] = [];
    // Kill without warning inside an open accounting transaction, later rounds after some jobs were accounted.
    for (const alreadyAccounted of [0, 2, 4]) {
      const deadline = Date.now() + 60_000;
      while (!((await records()) >= alreadyAccounted && (await openAccountingTx()) > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (Date.now() >= deadline) break;
      cp.killWorker();
      atKills.push(await records());
      cp.startWorker();
    }
    assert.ok(atKills.length >= 2 && atKills.every((n) => n < total), `workers died inside accounting transactions (accounted at kills: ${atKills})`);
    assert.ok(
      atKills.some((n) => n > 0),
      `a kill came after some jobs were accounted (accounted at kills: ${atKills})`,
    );
    // a second worker races the first for what is left
    const second = cp.spawnRole('worker');
    try {
      for (const id of ids) await accounted(id, 90_000);
    } finally {
      second.kill('SIGTERM');
    }
    const perJob = (await db.query('SELECT job_id::text, count(*)::int AS n FROM usage_records WHERE job_id = ANY($1) GROUP BY job_id', [ids])).rows;
    assert.equal(perJob.length, total);
    for (const row of perJob) assert.equal(row.n, 1, `job ${row.job_id} has ${row.n} records`);
    const outbox = (
      await db.query('SELECT count(*)::int AS n FROM usage_outbox o JOIN usage_records r ON r.id = o.usage_record_id WHERE r.job_id = ANY($1)', [ids])
    ).rows[0].n;
    assert.equal(outbox, total);
    const sums = (
      await db.query(
        `SELECT r.job_id, r.billed::text, (SELECT sum(amount) FROM usage_rewards w WHERE w.usage_record_id = r.id)::text AS split
         FROM usage_records r WHERE r.job_id = ANY($1)`,
        [ids],
      )
    ).rows;
    for (const s of sums) assert.equal(s.split, s.billed, `job ${s.job_id}: rewards sum to the bill`);
    const unaccounted = (await db.query('SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND accounted_at IS NULL', [ids])).rows[0].n;
    assert.equal(unaccounted, 0);
  });

  it('cost estimate before submit, and a monthly budget that refuses a job it cannot afford with a 402', async () => {
    const body = { script: script('true', ['--nodes=2', '--ntasks-per-node=1', '--mem=100M', '--time=10']) };
    const estimate = await cp.request('POST', '/v1/jobs/estimate', alice.key, body);
    assert.equal(estimate.status, 200, estimate.text);
    // 2 nodes × 600 s at 500000/h + 2 CPUs × 600 s at 50000/h + 2 × 100 MiB × 600 s at 10000/GiB-h = 183658.85… → 183659
    assert.equal(estimate.json.estimate, '183659');
    assert.equal(estimate.json.denom, 'uvirt');
    assert.equal(estimate.json.budget, null);
    const notAdmin = await cp.request('PUT', `/v1/principals/${alice.id}/budget`, alice.key, { monthlyLimit: '1', denom: 'uvirt' });
    assert.equal(notAdmin.status, 403);
    const badLimit = await cp.request('PUT', `/v1/principals/${alice.id}/budget`, cp.adminKey, { monthlyLimit: '-5', denom: 'uvirt' });
    assert.equal(badLimit.status, 400);
    // Earlier tests' jobs may still be waiting for accounting, and an unbilled job's estimate is reserved:
    // wait until everything is billed, so the room left below is exact.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const view = await cp.request('PUT', `/v1/principals/${alice.id}/budget`, cp.adminKey, { monthlyLimit: '1000000000000', denom: 'uvirt' });
      assert.equal(view.status, 200, view.text);
      if (view.json.reserved === '0') break;
      assert.ok(Date.now() < deadline, `jobs still unbilled after 90 s: ${view.text}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const [{ spent }] = (await db.query('SELECT coalesce(sum(billed), 0)::text AS spent FROM usage_records WHERE owner_id = $1', [alice.id])).rows;
    // room for what was billed plus a little: not for this job
    const limit = (BigInt(spent) + 100000n).toString();
    const set = await cp.request('PUT', `/v1/principals/${alice.id}/budget`, cp.adminKey, { monthlyLimit: limit, denom: 'uvirt' });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.spent, spent);
    assert.equal(set.json.remaining, '100000');
    const refused = await cp.request('POST', '/v1/jobs', alice.key, body);
    assert.equal(refused.status, 402, refused.text);
    assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(refused.json.field, 'budget');
    assert.equal(refused.json.estimate, '183659');
    assert.match(refused.json.detail, /only 100000 uvirt of the monthly budget is left/);
    // a cheaper job still fits; while it is unbilled its estimate is reserved
    const smallBody = { script: script('true', ['--time=1', '--mem=100M']) };
    const small = await cp.request('POST', '/v1/jobs', alice.key, smallBody, { 'idempotency-key': 'small-1' });
    assert.equal(small.status, 202, small.text);
    const mine = await cp.request('GET', `/v1/principals/${alice.id}/budget`, alice.key);
    assert.equal(mine.status, 200);
    assert.ok(BigInt(mine.json.reserved) + BigInt(mine.json.spent) > BigInt(spent), JSON.stringify(mine.json));
    const others = await cp.request('GET', `/v1/principals/${alice.id}/budget`, bob.key);
    assert.equal(others.status, 404);
    // an exhausted budget still replays a job that was accepted under the same Idempotency-Key
    await cp.request('PUT', `/v1/principals/${alice.id}/budget`, cp.adminKey, { monthlyLimit: '0', denom: 'uvirt' });
    const replay = await cp.request('POST', '/v1/jobs', alice.key, smallBody, { 'idempotency-key': 'small-1' });
    assert.equal(replay.status, 202, replay.text);
    assert.equal(replay.json.id, small.json.id);
    assert.equal((await cp.request('POST', '/v1/jobs', alice.key, smallBody, { 'idempotency-key': 'small-2' })).status, 402);
  });
});

/** The same accounting through the SSH adapter: `sacct --json` as the read user instead of /slurmdb/. */
describe('usage accounting over ssh (sacct --json)', { timeout: 200_000 }, () => {
  const { islandsFile, slurmConf } = ensureAccountingIsland(ISLAND, 5);
  const keyDir = mkdtempSync(join(tmpdir(), 'usage-key-'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const keyFile = join(keyDir, 'provider.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const cp = new ControlPlane('usage-ssh', {
    islands: [{ name: ISLAND, adapter: 'ssh' }],
    islandsSource: islandsFile,
    databaseName: 'usage_integration_ssh',
    redisDb: 11,
    env: { ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: keyFile, ARCHIPELAGO_USAGE_INTERVAL_MS: '200' },
  });
  let alice: { id: string; key: string };
  before(async () => {
    await cp.start();
    alice = await cp.researcher('alice', 'alice');
  });
  after(() => cp.stop());

  it('a one-node job: usage from sacct, signed with secp256k1', async () => {
    const res = await cp.request('POST', '/v1/jobs', alice.key, { script: script('sleep 1', ['--cpus-per-task=2', '--mem=300M', '--time=2']) });
    assert.equal(res.status, 202, res.text);
    const job = await cp.waitForJob(alice.key, res.json.id, ended);
    assert.equal(job.state, 'COMPLETED');
    const usage = await cp.waitFor(alice.key, `/v1/jobs/${job.id}/usage`, (u) => u.status === 'ACCOUNTED', 60_000, 200);
    const [truth] = sacct(slurmConf, job.slurmJobId);
    assert.deepEqual([tres(truth, 'cpu'), tres(truth, 'mem')], [2, 300]);
    const m = usage.record.usage.metrics;
    assert.equal(m.cpuCoreSeconds, 2 * truth.time.elapsed);
    assert.equal(m.memoryMbSeconds, 300 * truth.time.elapsed);
    assert.ok(truth.time.elapsed >= 1);
    assert.equal(usage.signature.algorithm, 'secp256k1');
    assert.equal(verifyUsageSignature('secp256k1', usage.signature.publicKey, usage.contentHash, Buffer.from(usage.signature.value, 'base64')), true);
  });
});
