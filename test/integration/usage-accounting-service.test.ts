import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { IslandDirectory } from '../../src/adapters/slurm/island-directory';
import type { AppConfig } from '../../src/adapters/config/config';
import { migratedDatabase } from '../support/migrated-database';
import { JobTagger } from '../../src/core/dispatch/job-tag';
import type { AccountingRun } from '../../src/core/usage/accounting';
import { AccountingService } from '../../src/features/usage/accounting.service';
import { usageSettings } from '../../src/adapters/config/usage-settings';
import { UsageRepository } from '../../src/features/usage/usage.repository';
import { JobsRepository } from '../../src/features/jobs/jobs.repository';
import { NodesRepository } from '../../src/features/nodes/nodes.repository';

const DB_NAME = 'usage_accounting';
const INSTANCE = 'acctsvc';
const OWNER = '00000000-0000-0000-0000-0000000000a1';
const PROVIDER = '00000000-0000-0000-0000-0000000000b1';
const TAG_KEY = { key: randomBytes(32), createdAt: new Date(0) };
const tag = new JobTagger(INSTANCE, TAG_KEY.key, TAG_KEY.createdAt);

/** An accounting source double: what slurmdbd would answer, or a failure (the island's slurmdbd is down). */
class FakeSource {
  runs: AccountingRun[] = [];
  down = false;
  asked: number[][] = [];
  async runsOf(ids: readonly number[]): Promise<AccountingRun[]> {
    this.asked.push([...ids]);
    if (this.down) throw new Error('slurmrestd http://127.0.0.1:7870: HTTP 503');
    return this.runs.filter((r) => ids.includes(r.arrayJobId ?? r.slurmJobId));
  }
}

const run = (slurmJobId: number, comment: string, over: Partial<AccountingRun> = {}): AccountingRun => ({
  slurmJobId,
  state: 'COMPLETED',
  comment,
  user: 'alice',
  submitTime: 1_795_000_000,
  startTime: 1_795_000_010,
  endTime: 1_795_000_110,
  elapsedSeconds: 100,
  cpuSeconds: 150.5,
  nodes: ['prov-n1', 'isl-n2'],
  allocated: { cpu: 4, memMb: 2048, nodes: 2, gpus: 0, gpusByModel: {} },
  steps: [{ id: 'batch', nodes: ['prov-n1'], elapsedSeconds: 100, allocated: { cpu: 2, memMb: 1024, nodes: 1, gpus: 0, gpusByModel: {} } }],
  ...over,
});

/**
 * The accounting worker against real PostgreSQL with accounting sources faked at the port: the
 * branches a real island rarely shows (foreign tags, slurmdbd down, accounting that never comes),
 * and rewards weighted by a registered node's provider and benchmark score.
 */
describe('accounting worker (PostgreSQL, accounting source at the port)', () => {
  let db: DataSource;
  let pg: Client;
  const good = new FakeSource();
  const down = new FakeSource();
  let service: AccountingService;
  const jobIds: Record<string, string> = {};

  before(async () => {
    const fresh = await migratedDatabase(DB_NAME, 4);
    db = fresh.db;
    pg = new Client({ connectionString: fresh.url });
    await pg.connect();
    await pg.query(`INSERT INTO principals (id, name, kind, slurm_user) VALUES ($1, 'alice', 'researcher', 'alice'), ($2, 'prov', 'provider_admin', NULL)`, [
      OWNER,
      PROVIDER,
    ]);
    await pg.query(
      `INSERT INTO nodes (provider_id, name, public_key, inventory, probe_address, benchmark_score)
       VALUES ($1, 'prov-n1', 'pk1', '{"gpus":[{"model":"nvidia-a100","count":1}]}', '10.0.0.1', 2000)`,
      [PROVIDER],
    );
    const insertJob = async (name: string, island: string, slurmJobId: number, endedSecondsAgo: number, arraySize: number | null = null) => {
      const { rows } = await pg.query(
        `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, island, state, slurm_job_id, ended_at, array_size)
         VALUES ($1, 'alice', '\\x00', $2, '#!/bin/sh', '{}', '{}', '/tmp', $3, 'COMPLETED', $4, now() - make_interval(secs => $5), $6) RETURNING id::text`,
        [OWNER, name, island, slurmJobId, endedSecondsAgo, arraySize],
      );
      jobIds[name] = rows[0].id;
    };
    await insertJob('complete', 'isl', 10, 5);
    await insertJob('foreign', 'isl', 11, 5);
    await insertJob('never', 'isl', 12, 7200);
    await insertJob('down', 'down', 13, 5);
    await insertJob('stolen', 'isl', 14, 5);
    await insertJob('unnamed', 'isl', 15, 5);
    await insertJob('unnamedOk', 'isl', 16, 5);
    await insertJob('array', 'isl', 17, 5, 2);
    good.runs = [
      run(10, tag.tag(jobIds.complete, 1, 'alice')),
      // same SLURM id, another control plane's tag: not ours
      run(11, new JobTagger('other', TAG_KEY.key, TAG_KEY.createdAt).tag(jobIds.foreign, 1, 'alice')),
      run(12, tag.tag(jobIds.never, 1, 'alice'), { state: 'RUNNING', endTime: null }),
      // alice's own tag, copied whole into a job of another user's: not hers
      run(14, tag.tag(jobIds.stolen, 1, 'alice'), { user: 'mallory' }),
      // a tag made for another user: not alice's either, even where accounting names no user
      run(15, tag.tag(jobIds.unnamed, 1, 'mallory'), { user: null }),
      run(16, tag.tag(jobIds.unnamedOk, 1, 'alice'), { user: null }),
      // an array of two tasks; task 1 was requeued once, so it has two runs
      run(18, tag.tag(jobIds.array, 1, 'alice'), { arrayJobId: 17, arrayTaskId: 0, cpuSeconds: 10 }),
      run(19, tag.tag(jobIds.array, 1, 'alice'), { arrayJobId: 17, arrayTaskId: 1, cpuSeconds: 20.25, state: 'REQUEUED', submitTime: 1_794_999_000 }),
      run(19, tag.tag(jobIds.array, 1, 'alice'), { arrayJobId: 17, arrayTaskId: 1, cpuSeconds: 0.5 }),
    ];
    const keyFile = join(mkdtempSync(join(tmpdir(), 'usage-acct-')), 'k.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const config = {
      instanceId: INSTANCE,
      tagKey: TAG_KEY,
      usage: usageSettings({ ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: keyFile, ARCHIPELAGO_USAGE_GIVE_UP_SECONDS: '3600' }),
    } as AppConfig;
    const islands = {
      all: () => [
        { settings: { accounting: true, connection: { name: 'isl' } }, slurm: good },
        { settings: { accounting: true, connection: { name: 'down' } }, slurm: down },
      ],
    } as unknown as IslandDirectory;
    down.down = true;
    const accountingQueue = new JobsRepository(db);
    service = new AccountingService(new UsageRepository(db, accountingQueue), accountingQueue, new NodesRepository(db), islands, config);
  });
  after(async () => {
    await pg?.end();
    await db?.destroy();
  });

  const job = async (name: string) => (await pg.query('SELECT * FROM jobs WHERE id = $1', [jobIds[name]])).rows[0];

  it('one pass: accounts what is complete and ours, notes why the others wait, gives up on the hopeless', async () => {
    assert.equal(await service.accountDue(), 3);
    assert.deepEqual(good.asked, [[10, 11, 12, 14, 15, 16, 17]], 'one accounting request for the whole island');
    assert.notEqual((await job('complete')).accounted_at, null);
    const foreign = await job('foreign');
    assert.equal(foreign.accounted_at, null);
    assert.match(foreign.accounting_note, /no record of the job yet/);
    assert.equal(foreign.accounting_attempts, 1);
    const stolen = await job('stolen');
    assert.equal(stolen.accounted_at, null, "a copied tag in another user's job is not this job's usage");
    assert.match(stolen.accounting_note, /no record of the job yet/);
    assert.equal((await job('unnamed')).accounted_at, null);
    assert.notEqual((await job('unnamedOk')).accounted_at, null, 'slurmdbd 22.05 names no user it has no association for');
    const never = await job('never');
    assert.match(never.accounting_note, /^gave up: the job is RUNNING in accounting/);
    assert.equal(never.accounting_next_at, Infinity);
    const slurmdbdDown = await job('down');
    assert.match(slurmdbdDown.accounting_note, /accounting read failed: .*HTTP 503/);
    assert.ok(slurmdbdDown.accounting_next_at > new Date(), 'retried later, not at once');
  });

  it("keeps each job's and each task's CPU time (TotalCPU) with the record, summed over a task's runs", async () => {
    const cpu = async (name: string) =>
      (await pg.query('SELECT task_id, cpu_seconds FROM job_cpu_times WHERE job_id = $1 ORDER BY task_id', [jobIds[name]])).rows.map((r) => [
        r.task_id,
        r.cpu_seconds,
      ]);
    assert.deepEqual(await cpu('complete'), [[-1, 150.5]]);
    assert.deepEqual(await cpu('array'), [
      [0, 10],
      [1, 20.75],
    ]);
    assert.deepEqual(await cpu('foreign'), [], 'nothing for a job not accounted');
  });

  it('rewards follow the registered node: its provider, weighted by its benchmark score', async () => {
    const { rows } = await pg.query(
      `SELECT kind, beneficiary, provider, weight::text, amount::text FROM usage_rewards WHERE job_id = $1 ORDER BY kind, beneficiary`,
      [jobIds.complete],
    );
    const nodes = rows.filter((r) => r.kind === 'node');
    assert.deepEqual(
      nodes.map((n) => [n.beneficiary, n.provider, n.weight]),
      [
        ['isl-n2', 'island:isl', String(100 * 1000)],
        ['prov-n1', PROVIDER, String(100 * 2000)],
      ],
    );
    // the registered node earns twice the other's node share (weights 2:1, ± one unit of rounding)
    const [n2, n1] = nodes.map((n) => BigInt(n.amount));
    assert.ok(n1 - 2n * n2 <= 2n && 2n * n2 - n1 <= 2n, `${n1} vs ${n2}`);
    const [{ billed }] = (await pg.query('SELECT billed::text FROM usage_records WHERE job_id = $1', [jobIds.complete])).rows;
    assert.equal(
      rows.reduce((acc, r) => acc + BigInt(r.amount), 0n),
      BigInt(billed),
    );
  });

  it('never a second record: a job accounted is not due again, and a forced second write is refused', async () => {
    await pg.query(`UPDATE jobs SET accounting_next_at = NULL WHERE id <> $1 AND accounting_next_at <> 'infinity'`, [jobIds.never]);
    good.asked = [];
    await service.accountDue();
    assert.ok(
      good.asked.every((ids) => !ids.includes(10)),
      'the accounted job is not read again',
    );
    const repo = new UsageRepository(db, new JobsRepository(db));
    const [again] = (
      await pg.query('SELECT id::text, owner_id, island, slurm_job_id::text, array_size, state, ended_at, accounting_attempts FROM jobs WHERE id = $1', [
        jobIds.complete,
      ])
    ).rows;
    const written = await repo.saveAccounted({
      job: again,
      record: { body: { usage: { key: { island: 'isl', slurmJobId: 10, submitTime: 1 } } }, canonical: '{}', contentHash: 'f'.repeat(64) } as never,
      signature: Buffer.alloc(64),
      algorithm: 'ed25519',
      publicKey: 'pk',
      denom: 'uvirt',
      billed: 1n,
      epoch: 1,
      rewards: { formula: 'x', shares: { platformPpm: 0, providerPpm: 0, nodesPpm: 0 }, billed: '1', platform: '1', providers: [], nodes: [] },
      cpuTimes: [{ taskId: -1, cpuSeconds: 1 }],
    });
    assert.equal(written, false);
    assert.equal((await pg.query('SELECT count(*)::int AS n FROM usage_records WHERE job_id = $1', [jobIds.complete])).rows[0].n, 1);
  });
});
