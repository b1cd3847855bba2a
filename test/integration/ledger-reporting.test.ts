import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { toBech32 } from '@cosmjs/encoding';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { ChainSigner } from '../../src/adapters/chain/chain-port';
import { JobState } from '../../src/adapters/chain/generated/virtengine';
import { ChainSender } from '../../src/features/ledger/chain-sender';
import { ChainUsageReporter } from '../../src/features/ledger/chain-usage-reporter';
import { TxStore } from '../../src/features/ledger/chain-txs.repository';
import { DEFAULT_DRAINER_OPTIONS, OutboxDrainer } from '../../src/features/usage/outbox-drainer';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { chainClientFor, duplicateReports, freshDatabase, reportsOnChain, seedReportedJobs } from '../support/ledger-fixtures';
import { newWallet, TestWallet } from '../support/wallets';
import { JobsRepository } from '../../src/features/jobs/jobs.repository';
import { UsageRepository } from '../../src/features/usage/usage.repository';
import { ChainReconciler } from '../../src/features/ledger/chain-reconciliation';
import { ChainReconciliationRepository } from '../../src/features/ledger/chain-reconciliation.repository';

const {
  JOB_STATE_QUEUED: QUEUED,
  JOB_STATE_RUNNING: RUNNING,
  JOB_STATE_COMPLETED: COMPLETED,
  JOB_STATE_FAILED: FAILED,
  JOB_STATE_CANCELLED: CANCELLED,
} = JobState;
const QUICK = { ...DEFAULT_DRAINER_OPTIONS, leaseSeconds: 0, maxBackoffSeconds: 0, confirmAfterSeconds: 0 };

/**
 * The chain UsageReporter against the fake chain (real signatures, sequences, legal job
 * transitions) and a real PostgreSQL outbox: every (job, state) lands exactly once, whatever
 * fails in between.
 */
describe('usage reported on chain (fake chain, PostgreSQL outbox)', () => {
  let db: DataSource;
  let fake: FakeChain;
  let provider: TestWallet;

  before(async () => {
    db = await freshDatabase('ledger_reporting');
  });
  after(async () => {
    await db?.destroy();
  });
  beforeEach(async () => {
    await fake?.stop();
    fake = new FakeChain({ chainId: 'virtengine-test-1' });
    await fake.start();
    provider = await newWallet();
    fake.fund(provider.address);
    await db.query('TRUNCATE chain_txs, chain_job_links, chain_reconciliation, usage_rewards, usage_outbox, usage_records, jobs CASCADE');
  });
  after(() => fake?.stop());

  /** A worker process: its own signer, sender (sequence cache) and drainer. `wrap` may sabotage the signer. */
  async function worker(wrap: (s: ChainSigner) => ChainSigner = (s) => s, chain?: ConstructorParameters<typeof ChainUsageReporter>[1]) {
    const client = chainClientFor(fake);
    let sender: ChainSender | null = null;
    const connect = async () =>
      (sender ??= new ChainSender(wrap(await client.signer(provider.direct)), new TxStore(db), {
        maxMessagesPerTx: 40,
        maxGasPerTx: 4_000_000,
        memo: 'archipelago',
      }));
    return new OutboxDrainer(db, new ChainUsageReporter(db, chain ?? client, connect, new JobsRepository(db)), QUICK);
  }

  const outbox = async () =>
    new Map<string, { status: string; last_error: string | null; tx_hash: string | null }>(
      (await db.query('SELECT usage_record_id::text AS id, status, last_error, tx_hash FROM usage_outbox')).map((r: any) => [r.id, r]),
    );

  it('full lifecycle: QUEUED, RUNNING, terminal with metrics and signature, many jobs per transaction, nothing twice', async () => {
    const jobs = await seedReportedJobs(db, fake, provider.address, [
      ...Array.from({ length: 30 }, () => ({})),
      { state: 'OUT_OF_MEMORY' },
      { state: 'CANCELLED', started: false },
      { state: 'COMPLETED', chainState: QUEUED },
      { chainJobId: null },
    ]);
    const drainer = await worker();
    assert.equal(await drainer.drainOnce(), 34);
    const status = await outbox();
    for (const job of jobs.slice(0, 33)) assert.equal(status.get(job.recordId)!.status, 'COMMITTED', status.get(job.recordId)!.last_error ?? '');
    assert.equal(status.get(jobs[33].recordId)!.status, 'SKIPPED');
    assert.match(status.get(jobs[33].recordId)!.last_error!, /not submitted on chain/);

    const reports = reportsOnChain(fake);
    const byJob = (id: string) => reports.filter((r) => r.jobId === id).map((r) => r.state);
    assert.deepEqual(byJob(jobs[0].chainJobId!), [QUEUED, RUNNING, COMPLETED]);
    assert.deepEqual(byJob(jobs[30].chainJobId!), [QUEUED, RUNNING, FAILED], 'OOM is FAILED on chain');
    assert.deepEqual(byJob(jobs[31].chainJobId!), [QUEUED, CANCELLED], 'never started: no RUNNING');
    assert.deepEqual(byJob(jobs[32].chainJobId!), [RUNNING, COMPLETED], 'the chain already had QUEUED');
    for (const job of jobs.slice(0, 33)) assert.ok([COMPLETED, FAILED, CANCELLED].includes(fake.modules.jobs.get(job.chainJobId!)!.state as never));

    const terminal = reports.find((r) => r.jobId === jobs[0].chainJobId && r.state === COMPLETED)!;
    assert.equal(terminal.usageMetrics?.wallClockSeconds, 120n);
    assert.equal(terminal.usageMetrics?.cpuCoreSeconds, 960n);
    assert.equal(terminal.usageMetrics?.gpuSeconds, 120n);
    assert.equal(terminal.usageMetrics?.nodeHours, 1n, 'node-hours round up');
    assert.equal(Buffer.from(terminal.signature, 'base64').length, 64);
    assert.match(terminal.statusMessage, /^COMPLETED; usage record sha256:[0-9a-f]{64}$/);
    const queued = reports.find((r) => r.jobId === jobs[0].chainJobId && r.state === QUEUED)!;
    assert.equal(queued.signature, '', 'only the terminal report carries the signature');

    // 97 messages at ≤ 40 per transaction (items are never split across transactions).
    assert.equal(reports.length, 30 * 3 + 3 + 2 + 2);
    assert.ok(fake.ledger.txs.length >= 3 && fake.ledger.txs.length <= 4, `${fake.ledger.txs.length} transactions`);
    for (const t of fake.ledger.txs) assert.equal(t.code, 0, t.log);
    assert.deepEqual(duplicateReports(fake), []);
    assert.equal(await drainer.drainOnce(), 0, 'nothing left');
    const rows = await db.query('SELECT count(*)::int AS n FROM chain_txs');
    assert.equal(rows[0].n, fake.ledger.txs.length, 'every transaction was journaled before it was sent');
  });

  it('crash between broadcast and confirmation: the restarted worker confirms by hash and sends nothing again', async () => {
    const jobs = await seedReportedJobs(
      db,
      fake,
      provider.address,
      Array.from({ length: 12 }, () => ({})),
    );
    const crashing = await worker((signer) => ({
      ...signer,
      submit: async (bytes) => {
        await signer.submit(bytes);
        throw new Error('SIGKILL: the worker died right after the node took the transaction');
      },
    }));
    await crashing.drainOnce();
    const afterCrash = await outbox();
    for (const job of jobs) assert.equal(afterCrash.get(job.recordId)!.status, 'BROADCAST');
    assert.equal(fake.ledger.txs.length, 1, 'one transaction reached the chain');

    const restarted = await worker();
    await restarted.drainOnce();
    const status = await outbox();
    for (const job of jobs) {
      assert.equal(status.get(job.recordId)!.status, 'COMMITTED');
      assert.equal(status.get(job.recordId)!.tx_hash, fake.ledger.txs[0].hash);
    }
    assert.equal(fake.ledger.txs.length, 1, 'nothing was sent again');
    assert.deepEqual(duplicateReports(fake), []);
  });

  it('crash after journaling, before the node saw it: the same signed bytes are sent once, then confirmed', async () => {
    const jobs = await seedReportedJobs(
      db,
      fake,
      provider.address,
      Array.from({ length: 5 }, () => ({})),
    );
    const crashing = await worker((signer) => ({
      ...signer,
      submit: async () => {
        throw new Error('SIGKILL before sending');
      },
    }));
    await crashing.drainOnce();
    const [journaled] = await db.query('SELECT hash FROM chain_txs');
    assert.equal(fake.ledger.txs.length, 0);

    const restarted = await worker();
    await restarted.drainOnce(); // finds nothing by hash, sequence unused: re-sends the journaled bytes
    await restarted.drainOnce(); // confirms
    const status = await outbox();
    for (const job of jobs) assert.equal(status.get(job.recordId)!.status, 'COMMITTED');
    assert.equal(fake.ledger.txs.length, 1);
    assert.equal(fake.ledger.txs[0].hash, journaled.hash, 'the journaled transaction itself landed');
    assert.deepEqual(duplicateReports(fake), []);
  });

  it('chain down: the outbox keeps everything with the error; back up: all drained, each once', async () => {
    const jobs = await seedReportedJobs(
      db,
      fake,
      provider.address,
      Array.from({ length: 8 }, () => ({})),
    );
    const drainer = await worker();
    await fake.down();
    assert.equal(await drainer.drainOnce(), 8);
    for (const job of jobs) {
      const s = (await outbox()).get(job.recordId)!;
      assert.equal(s.status, 'PENDING');
      assert.match(s.last_error ?? '', /ECONNREFUSED|fetch failed|socket|connect/i);
    }
    await fake.up();
    await drainer.drainOnce();
    for (const job of jobs) assert.equal((await outbox()).get(job.recordId)!.status, 'COMMITTED');
    assert.equal(reportsOnChain(fake).length, 8 * 3);
    assert.deepEqual(duplicateReports(fake), []);
  });

  it('stale sequence (another transaction from the same account in between): re-signed at the expected sequence', async () => {
    const first = await seedReportedJobs(db, fake, provider.address, [{}]);
    const drainer = await worker();
    await drainer.drainOnce();
    // Someone else signs with the provider key: our cached next sequence is now stale.
    const other = await chainClientFor(fake).signer(provider.direct);
    await other.signAndBroadcast([
      {
        typeUrl: '/cosmos.bank.v1beta1.MsgSend',
        value: { fromAddress: provider.address, toAddress: provider.address, amount: [{ denom: 'uve', amount: '1' }] },
      },
    ]);
    const second = await seedReportedJobs(db, fake, provider.address, [{}, {}]);
    const includedBefore = fake.ledger.txs.length;
    const sendsBefore = fake.count('broadcast_tx_sync');
    await drainer.drainOnce();
    for (const job of [...first, ...second]) assert.equal((await outbox()).get(job.recordId)!.status, 'COMMITTED');
    assert.equal(fake.ledger.txs.length, includedBefore + 1);
    assert.equal(fake.count('broadcast_tx_sync'), sendsBefore + 2, 'one refused for its sequence, one accepted');
    assert.deepEqual(duplicateReports(fake), []);
  });

  it('a message the chain refuses is recorded with its reason and never retried; one refused because the job moved is rebuilt from the chain first', async () => {
    const jobs = await seedReportedJobs(db, fake, provider.address, [{}, {}, {}, {}]);
    // After we last looked, the customer cancelled job 2 on chain, and job 3 went to another provider.
    const [cancelled, taken] = [jobs[1].chainJobId!, jobs[2].chainJobId!];
    const client = chainClientFor(fake);
    const ourView = new Map(
      [cancelled, taken].map((id) => [id, { job: { ...fake.modules.jobs.get(id)! }, queuedAt: null, startedAt: null, completedAt: null }]),
    );
    const staleView = { hpcJob: async (id: string) => ourView.get(id) ?? client.hpcJob(id) };
    fake.modules.jobs.set(cancelled, { ...fake.modules.jobs.get(cancelled)!, state: CANCELLED });
    fake.modules.jobs.set(taken, { ...fake.modules.jobs.get(taken)!, providerAddress: toBech32('ve', randomBytes(20)) });
    await (await worker(undefined, staleView)).drainOnce();
    let status = await outbox();
    assert.equal(status.get(jobs[2].recordId)!.status, 'REJECTED');
    assert.match(status.get(jobs[2].recordId)!.last_error!, /message index: \d+: not the job provider: unauthorized$/);
    assert.equal(status.get(jobs[1].recordId)!.status, 'PENDING', 'the job moved under us (2107): built again, not rejected');
    assert.match(status.get(jobs[1].recordId)!.last_error!, /^the chain's job moved meanwhile: .*message index: \d+: invalid job state transition$/);
    assert.equal(status.get(jobs[0].recordId)!.status, 'COMMITTED');
    assert.equal(status.get(jobs[3].recordId)!.status, 'COMMITTED');

    const sends = fake.count('broadcast_tx_sync');
    const fresh = await worker();
    await fresh.drainOnce();
    status = await outbox();
    assert.equal(status.get(jobs[1].recordId)!.status, 'REJECTED');
    assert.match(status.get(jobs[1].recordId)!.last_error!, /already has this job CANCELLED; it ended COMPLETED here/);
    assert.equal(await fresh.drainOnce(), 0, 'rejected entries are final');
    assert.equal(fake.count('broadcast_tx_sync'), sends, 'nothing more was sent');
    for (const id of [cancelled, taken]) assert.equal(reportsOnChain(fake).filter((r) => r.jobId === id).length, 0, 'refused in simulation: never broadcast');
  });

  it('a chain job already ended another way is refused here, without sending', async () => {
    const [job] = await seedReportedJobs(db, fake, provider.address, [{ chainState: CANCELLED }]);
    const drainer = await worker();
    await drainer.drainOnce();
    const s = (await outbox()).get(job.recordId)!;
    assert.equal(s.status, 'REJECTED');
    assert.match(s.last_error!, /already has this job CANCELLED; it ended COMPLETED here/);
    assert.equal(fake.count('broadcast_tx_sync'), 0);
  });

  it("reconciles what we reported with what the chain holds: the job's state and record hash, and its reward records", async () => {
    const jobs = await seedReportedJobs(
      db,
      fake,
      provider.address,
      Array.from({ length: 6 }, () => ({})),
    );
    await (await worker()).drainOnce();
    const ids = jobs.map((j) => j.chainJobId!);
    const [noReward, matched, otherReward, otherState, gone, otherRecord] = ids;
    fake.modules.rewards.set('RWD-1', { reward_id: 'RWD-1', job_id: matched, total_reward: [] });
    fake.modules.rewards.set('RWD-2', { reward_id: 'RWD-2', job_id: otherReward, total_reward: [{ denom: 'uvirt', amount: '5' }] });
    fake.modules.jobs.set(otherState, { ...fake.modules.jobs.get(otherState)!, state: JobState.JOB_STATE_FAILED });
    fake.modules.jobs.delete(gone);
    fake.modules.jobs.set(otherRecord, { ...fake.modules.jobs.get(otherRecord)!, statusMessage: 'COMPLETED; usage record sha256:' + '0'.repeat(64) });
    const reconciler = new ChainReconciler(db, new ChainReconciliationRepository(db), chainClientFor(fake), new UsageRepository(db, new JobsRepository(db)));
    assert.deepEqual(await reconciler.pass(), {
      matched: 1,
      missing_on_chain: 1,
      state_differs: 1,
      record_differs: 1,
      no_reward_on_chain: 1,
      reward_differs: 1,
    });
    const found = new Map<string, { outcome: string; detail: string }>(
      (await db.query('SELECT chain_job_id, outcome, detail FROM chain_reconciliation')).map((r: { chain_job_id: string; outcome: string; detail: string }) => [
        r.chain_job_id,
        { outcome: r.outcome, detail: r.detail },
      ]),
    );
    assert.equal(found.get(noReward)?.outcome, 'no_reward_on_chain');
    assert.equal(found.get(matched)?.outcome, 'matched');
    assert.deepEqual(found.get(otherReward), { outcome: 'reward_differs', detail: "the chain's rewards total 5uvirt, our record billed 0uvirt" });
    assert.deepEqual(found.get(otherState), { outcome: 'state_differs', detail: 'the chain holds FAILED, we reported COMPLETED' });
    assert.equal(found.get(gone)?.outcome, 'missing_on_chain');
    assert.equal(found.get(otherRecord)?.outcome, 'record_differs');
    // The next pass updates the findings in place.
    fake.modules.rewards.set('RWD-3', { reward_id: 'RWD-3', job_id: noReward, total_reward: [] });
    assert.equal((await reconciler.pass()).matched, 2);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM chain_reconciliation'))[0].n, 6, 'one finding per record');
  });
});
