import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { ClusterState, JobState, MsgCancelJob, MsgSubmitJob, MsgSubmitJobResponse } from '../../src/adapters/chain/generated/virtengine';
import { ensureAccountingIsland } from '../support/accounting-island';
import { ControlPlane } from '../support/control-plane';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { ChainQueryError } from '../../src/adapters/chain/chain-port';
import { chainClientFor, duplicateReports, reportsOnChain } from '../support/ledger-fixtures';
import { newWallet, TestWallet } from '../support/wallets';

/** An island with slurmdbd: the chain reporter reports a job once its usage is accounted, which needs SLURM's accounting. */
const ISLAND = 'acct-a';
const CLUSTER = 'HPC-1';
const OFFERING = 'OFF-1';
const { JOB_STATE_QUEUED: QUEUED, JOB_STATE_RUNNING: RUNNING, JOB_STATE_COMPLETED: COMPLETED, JOB_STATE_FAILED: FAILED, JOB_STATE_PENDING: PENDING } = JobState;
const { JOB_STATE_CANCELLED: CANCELLED, JOB_STATE_TIMEOUT: TIMEOUT } = JobState;

async function eventually<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Chain ingress end to end: customers submit MsgSubmitJob to the fake chain for our island's
 * cluster; the real worker pages through the PENDING jobs (page size 2), imports each once as a
 * job of the customer's wallet principal (gated like REST), SLURM runs it, and the reporter takes
 * the chain's job QUEUED → RUNNING → COMPLETED. A customer below the VEID tier is refused and the
 * chain's job ends FAILED with the reason. Killing the worker mid-way imports nothing twice.
 */
describe('chain ingress (real api + worker, fake chain, island acct-a)', { timeout: 300_000 }, () => {
  const { islandsFile } = ensureAccountingIsland(ISLAND, 5);
  const fake = new FakeChain({ chainId: 'virtengine-test-1' });
  let cp: ControlPlane;
  let db: Client;
  let provider: TestWallet;
  let verified: TestWallet;
  let unverified: TestWallet;

  before(async () => {
    await fake.start();
    [provider, verified, unverified] = await Promise.all([newWallet(), newWallet(), newWallet()]);
    for (const w of [provider, verified, unverified]) fake.fund(w.address);
    fake.setScore(verified.address, 90);
    fake.setScore(unverified.address, 30);
    // Our island as the provider daemon leaves it on chain: registered, ACTIVE, offered.
    fake.modules.clusters.set(CLUSTER, {
      clusterId: CLUSTER,
      providerAddress: provider.address,
      name: ISLAND,
      region: 'unknown',
      state: ClusterState.CLUSTER_STATE_ACTIVE,
      totalNodes: 2,
      partitions: ['debug'],
    });
    fake.modules.offerings.set(OFFERING, {
      offeringId: OFFERING,
      clusterId: CLUSTER,
      providerAddress: provider.address,
      queues: ['debug'],
      active: true,
      maxRuntimeSeconds: 3600n,
    });
    fake.modules.counters.cluster = 1;
    fake.modules.counters.offering = 1;

    const dir = mkdtempSync(join(tmpdir(), 'ingress-'));
    const keyFile = join(dir, 'provider.key');
    writeFileSync(keyFile, provider.mnemonic, { mode: 0o600 });
    const usageKey = join(dir, 'usage.pem');
    writeFileSync(usageKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    cp = new ControlPlane('ingress', {
      islands: [{ name: ISLAND }],
      islandsSource: islandsFile,
      databaseName: 'ingress_integration',
      redisDb: 0,
      env: {
        CHAIN_RPC_URL: fake.url,
        CHAIN_ID: fake.chainId,
        CHAIN_PROVIDER_KEY_FILE: keyFile,
        CHAIN_BROADCAST_POLL_MS: '50',
        CHAIN_LIVENESS_INTERVAL_MS: '500',
        CHAIN_INGRESS_INTERVAL_MS: '300',
        CHAIN_INGRESS_PAGE_LIMIT: '2',
        CHAIN_INGRESS_SLURM_USER: 'alice',
        CHAIN_INGRESS_CONTAINER_RUNTIME: 'host',
        ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: usageKey,
        ARCHIPELAGO_USAGE_INTERVAL_MS: '200',
      },
    });
    await cp.start();
    db = new Client({ connectionString: cp.databaseUrl });
    await db.connect();
    await db.query('INSERT INTO chain_clusters (island, cluster_id) VALUES ($1, $2)', [ISLAND, CLUSTER]);
  });
  after(async () => {
    await db?.end();
    await cp?.stop();
    await fake.stop();
  });

  async function submitOnChain(customer: TestWallet, command: string): Promise<string> {
    const signer = await chainClientFor(fake).signer(customer.direct);
    const result = await signer.signAndBroadcast([
      {
        typeUrl: MsgSubmitJob.typeUrl,
        value: MsgSubmitJob.fromPartial({
          customerAddress: customer.address,
          offeringId: OFFERING,
          queueName: 'debug',
          workloadSpec: { containerImage: 'docker://ubuntu:22.04', command, environment: [{ key: 'GREETING', value: 'hello' }] },
          resources: { nodes: 1, cpuCoresPerNode: 1 },
          maxRuntimeSeconds: 120n,
          maxPrice: [{ denom: 'uve', amount: '1000' }],
        }),
      },
    ]);
    assert.equal(result.code, 0, result.rawLog);
    return MsgSubmitJobResponse.decode(result.msgResponses[0].value).jobId;
  }

  const statesReported = (chainJobId: string) =>
    reportsOnChain(fake)
      .filter((r) => r.jobId === chainJobId && r.txCode === 0)
      .map((r) => r.state);

  it('imports PENDING chain jobs once each, runs them, and the chain sees QUEUED → RUNNING → COMPLETED; a low-tier customer is refused and FAILED', async () => {
    const chainJobs = [];
    for (let i = 0; i < 3; i++) chainJobs.push(await submitOnChain(verified, 'echo "$GREETING from $VIRTENGINE_JOB_ID"'));
    const refusedJob = await submitOnChain(unverified, 'true');

    // Kill the worker as soon as the first import committed, and start it again: nothing is imported twice.
    await eventually('a first import', async () => (await db.query(`SELECT 1 FROM chain_ingress WHERE outcome = 'IMPORTED'`)).rowCount! > 0);
    cp.killWorker();
    cp.startWorker();

    const imported = await eventually('three imports and one refusal', async () => {
      const { rows } = await db.query(`SELECT chain_job_id, outcome, job_id::text, reason, refusal_status FROM chain_ingress ORDER BY chain_job_id`);
      return rows.length === 4 ? rows : null;
    });
    assert.deepEqual(
      imported
        .filter((r) => r.outcome === 'IMPORTED')
        .map((r) => r.chain_job_id)
        .sort(),
      [...chainJobs].sort(),
    );
    const refusal = imported.find((r) => r.outcome === 'REFUSED')!;
    assert.equal(refusal.chain_job_id, refusedJob);
    assert.equal(refusal.refusal_status, 403);
    assert.match(refusal.reason, /tier/i);

    // Owned by the customer's wallet principal, running as the ingress account, pinned to the island.
    const { rows: jobs } = await db.query(
      `SELECT j.id::text, j.slurm_user, j.constraints, p.chain_address, l.chain_job_id FROM jobs j
         JOIN principals p ON p.id = j.owner_id JOIN chain_job_links l ON l.job_id = j.id ORDER BY l.chain_job_id`,
    );
    assert.equal(jobs.length, 3);
    for (const job of jobs) {
      assert.equal(job.chain_address, verified.address);
      assert.equal(job.slurm_user, 'alice');
      assert.deepEqual(job.constraints.islands, [ISLAND]);
    }
    assert.equal((await db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n, 3, 'no job was created twice or for the refused customer');

    for (const chainJobId of chainJobs) {
      await eventually(`${chainJobId} COMPLETED on chain`, () => fake.modules.jobs.get(chainJobId)?.state === COMPLETED, 180_000).catch(async (error) => {
        // Where the job path stopped: the job, its accounting and its report.
        const { rows: state } = await db.query(
          `SELECT j.id, j.state, j.slurm_job_id, j.dispatch_attempts, j.ended_at, j.accounted_at, j.accounting_attempts, j.accounting_note,
                  o.status AS outbox, o.attempts AS outbox_attempts, o.last_error
             FROM chain_job_links l JOIN jobs j ON j.id = l.job_id
             LEFT JOIN usage_records r ON r.job_id = j.id LEFT JOIN usage_outbox o ON o.usage_record_id = r.id
            WHERE l.chain_job_id = $1`,
          [chainJobId],
        );
        throw new Error(
          `${(error as Error).message}; chain state ${fake.modules.jobs.get(chainJobId)?.state}, reports ${statesReported(chainJobId)}; ${JSON.stringify(state)}\n${cp.recentLogs()}`,
        );
      });
      assert.deepEqual(statesReported(chainJobId), [QUEUED, RUNNING, COMPLETED]);
    }
    await eventually(`${refusedJob} FAILED on chain`, () => fake.modules.jobs.get(refusedJob)?.state === FAILED);
    assert.deepEqual(statesReported(refusedJob), [FAILED]);
    assert.match(fake.modules.jobs.get(refusedJob)!.statusMessage, /^refused by Archipelago: Identity tier too low/);

    // Later passes (the chain job list is polled again) import nothing more.
    const queries = fake.count('/store/hpc/subspace');
    await eventually('two more ingress passes', () => fake.count('/store/hpc/subspace') >= queries + 2, 10_000);
    assert.equal(fake.count('/virtengine.hpc.v1.Query/Jobs'), 0, 'Query/Jobs is not implemented on chain: never asked');
    assert.equal((await db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n, 3);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM chain_ingress')).rows[0].n, 4);
    assert.deepEqual(duplicateReports(fake), []);
  });

  it("reads x/hpc's stored jobs in key order, each with the keeper's fields and transition times", async () => {
    const client = chainClientFor(fake);
    const stored = await client.hpcJobs();
    const ids = stored.map((s) => s.job.jobId);
    assert.deepEqual(
      ids,
      [...fake.modules.jobs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const completed = stored.filter((s) => s.job.clusterId === CLUSTER && s.job.state === COMPLETED);
    assert.ok(completed.length >= 3, `the first test's jobs are COMPLETED on chain (${completed.length})`);
    for (const { job, queuedAt, startedAt, completedAt } of completed) {
      assert.equal(job.customerAddress, verified.address);
      assert.equal(job.providerAddress, provider.address);
      assert.ok(job.workloadSpec?.containerImage, 'the workload spec survives the JSON record');
      assert.ok(
        queuedAt && startedAt && completedAt && queuedAt <= startedAt && startedAt <= completedAt,
        `${job.jobId}: ${queuedAt} ${startedAt} ${completedAt}`,
      );
      assert.deepEqual((await client.hpcJob(job.jobId))?.job, job, 'the same record under its own key');
    }
    await assert.rejects(client.query('/virtengine.hpc.v1.Query/Job', MsgSubmitJobResponse, {}, MsgSubmitJobResponse), /method Job not implemented/);
  });

  it('the fake refuses submissions the keeper refuses (runtime, image, nodes, inactive cluster) and takes any queue name', async () => {
    const signer = await chainClientFor(fake).signer(verified.direct);
    const attempt = (over: Record<string, unknown>) =>
      signer.signAndBroadcast([
        {
          typeUrl: MsgSubmitJob.typeUrl,
          value: MsgSubmitJob.fromPartial({
            customerAddress: verified.address,
            offeringId: OFFERING,
            queueName: 'debug',
            workloadSpec: { containerImage: 'img', command: 'true' },
            resources: { nodes: 1 },
            maxRuntimeSeconds: 120n,
            ...over,
          }),
        },
      ]);
    const before = fake.modules.jobs.size;
    await assert.rejects(attempt({ queueName: '' }), /queue_name cannot be empty/);
    await assert.rejects(attempt({ maxRuntimeSeconds: 7200n }), /exceeds the offering/);
    await assert.rejects(attempt({ maxRuntimeSeconds: 30n }), /at least 60/);
    await assert.rejects(attempt({ workloadSpec: { command: 'true' } }), /container_image is required/);
    // ValidateBasic runs in CheckTx: the node refuses the transaction and no block holds it.
    const height = fake.ledger.height;
    await assert.rejects(attempt({ resources: { nodes: 0 } }), (error: unknown) => {
      assert.ok(error instanceof ChainQueryError, String(error));
      assert.equal(error.code, 4, 'sdk/go/node/hpc/v1 ErrInvalidJob');
      assert.match(error.message, /resources.nodes must be greater than zero: invalid job/);
      return true;
    });
    assert.equal(fake.ledger.height, height, 'refused before any block');
    await assert.rejects(attempt({ offeringId: 'OFF-404' }), /offering not found/);
    const cluster = fake.modules.clusters.get(CLUSTER)!;
    fake.modules.clusters.set(CLUSTER, { ...cluster, state: ClusterState.CLUSTER_STATE_PENDING });
    try {
      await assert.rejects(attempt({}), (error: unknown) => {
        assert.ok(error instanceof ChainQueryError, String(error));
        assert.equal(error.code, 2101, 'keeper.SubmitJob wraps an inactive cluster in ErrClusterNotFound');
        assert.match(error.message, /cluster is not active: cluster not found/);
        return true;
      });
    } finally {
      fake.modules.clusters.set(CLUSTER, cluster);
    }
    assert.equal(fake.modules.jobs.size, before);
    // keeper.SubmitJob never compares queue_name with the offering's queue options.
    assert.equal((await attempt({ queueName: 'gpu' })).code, 0);
    assert.equal(fake.modules.jobs.size, before + 1);
    fake.modules.jobs.delete([...fake.modules.jobs.keys()].pop()!); // later tests count the jobs they make
  });

  it('REST submissions still go through the same insert (no chain link; Idempotency-Key replays)', async () => {
    const alice = await cp.researcher('ingress-alice', 'alice');
    const body = { script: '#!/bin/bash\n#SBATCH --partition=debug\ntrue\n' };
    const first = await cp.request('POST', '/v1/jobs', alice.key, body, { 'Idempotency-Key': 'rest-1' });
    assert.equal(first.status, 202, first.text);
    const again = await cp.request('POST', '/v1/jobs', alice.key, body, { 'Idempotency-Key': 'rest-1' });
    assert.equal(again.json.id, first.json.id);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM chain_job_links WHERE job_id = $1', [first.json.id])).rows[0].n, 0);
  });

  it('pages through more PENDING jobs than one page holds, and leaves jobs of other clusters alone', async () => {
    fake.modules.clusters.set('HPC-9', {
      clusterId: 'HPC-9',
      providerAddress: provider.address,
      name: 'not-ours',
      region: 'unknown',
      state: ClusterState.CLUSTER_STATE_ACTIVE,
      totalNodes: 1,
      partitions: ['debug'],
    });
    fake.modules.offerings.set('OFF-9', {
      offeringId: 'OFF-9',
      clusterId: 'HPC-9',
      providerAddress: provider.address,
      queues: ['debug'],
      active: true,
      maxRuntimeSeconds: 3600n,
    });
    const foreign = 'JOB-900';
    fake.addJob({
      jobId: foreign,
      providerAddress: provider.address,
      clusterId: 'HPC-9',
      customerAddress: verified.address,
      state: PENDING,
      queueName: 'debug',
      maxRuntimeSeconds: 120n,
      workloadSpec: { containerImage: 'x', command: 'true' },
      resources: { nodes: 1 },
    });
    const batch: string[] = [];
    for (let i = 0; i < 5; i++) batch.push(await submitOnChain(verified, 'true'));
    await eventually(
      'five more imports',
      async () => (await db.query(`SELECT count(*)::int AS n FROM chain_ingress WHERE chain_job_id = ANY($1)`, [batch])).rows[0].n === 5,
    );
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM chain_ingress WHERE chain_job_id = $1`, [foreign])).rows[0].n, 0);
    assert.equal(fake.modules.jobs.get(foreign)!.state, PENDING);
  });

  it("reports QUEUED and RUNNING while the job runs; the customer's MsgCancelJob and x/hpc's timeout cancel ours in SLURM", async () => {
    const ourJob = async (chainJobId: string) =>
      (
        await db.query(`SELECT j.id::text, j.state, j.slurm_job_id FROM chain_job_links l JOIN jobs j ON j.id = l.job_id WHERE l.chain_job_id = $1`, [
          chainJobId,
        ])
      ).rows[0] as { id: string; state: string; slurm_job_id: string | null } | undefined;
    const [cancelled, timedOut] = [await submitOnChain(verified, 'sleep 300'), await submitOnChain(verified, 'sleep 300')];
    for (const chainJobId of [cancelled, timedOut]) {
      await eventually(`${chainJobId} RUNNING on chain while it runs`, () => fake.modules.jobs.get(chainJobId)?.state === RUNNING, 120_000);
      assert.equal((await ourJob(chainJobId))?.state, 'RUNNING');
      assert.deepEqual(statesReported(chainJobId), [QUEUED, RUNNING]);
    }

    const signer = await chainClientFor(fake).signer(verified.direct);
    const cancel = (jobId: string, requester = verified.address) =>
      signer.signAndBroadcast([
        { typeUrl: MsgCancelJob.typeUrl, value: MsgCancelJob.fromPartial({ requesterAddress: requester, jobId, reason: 'changed my mind' }) },
      ]);
    assert.equal((await cancel(cancelled)).code, 0);
    assert.deepEqual([fake.modules.jobs.get(cancelled)?.state, fake.modules.jobs.get(cancelled)?.statusMessage], [CANCELLED, 'Cancelled by user']);
    await assert.rejects(
      cancel(cancelled),
      (error: unknown) => error instanceof ChainQueryError && error.code === 2107 && /already in terminal state/.test(error.message),
    );
    await eventually(`job of ${cancelled} CANCELLED here`, async () => (await ourJob(cancelled))?.state === 'CANCELLED', 60_000);

    // x/hpc's EndBlock times the other out once its runtime passes max_runtime_seconds (120 s).
    fake.advance(121);
    assert.equal(fake.modules.jobs.get(timedOut)?.state, TIMEOUT);
    await eventually(`job of ${timedOut} CANCELLED here`, async () => (await ourJob(timedOut))?.state === 'CANCELLED', 60_000);

    // Both ended on chain before ours did: the reporter sends them nothing more.
    await eventually('both usage records settled', async () => {
      const { rows } = await db.query(
        `SELECT o.status FROM chain_job_links l JOIN usage_records r ON r.job_id = l.job_id JOIN usage_outbox o ON o.usage_record_id = r.id
          WHERE l.chain_job_id = ANY($1)`,
        [[cancelled, timedOut]],
      );
      return rows.length === 2 && rows.every((r) => r.status !== 'PENDING' && r.status !== 'BROADCAST');
    });
    assert.deepEqual(statesReported(cancelled), [QUEUED, RUNNING]);
    assert.deepEqual(statesReported(timedOut), [QUEUED, RUNNING]);
    assert.deepEqual([fake.modules.jobs.get(cancelled)?.state, fake.modules.jobs.get(timedOut)?.state], [CANCELLED, TIMEOUT]);
    assert.deepEqual(duplicateReports(fake), []);
  });
});
