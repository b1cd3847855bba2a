/**
 * Chain reporting benchmark: N completed jobs with signed usage records in the outbox, reported
 * through the production path (OutboxDrainer → ChainUsageReporter → ChainSender → our cosmjs
 * client) to the in-process fake chain, which checks every signature, sequence and job transition.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/ledger/run.js [--jobs N] [--batch-size B] [--max-msgs M] [--baseline-jobs K] [--no-write]
 *
 * Uses the database `ledger_bench` (dropped and recreated); no Redis, no SLURM. Reports (JSON on
 * stdout, also benchmarks/results/ledger-<timestamp>.json):
 *   - transactions, messages, messages per transaction, jobs per second while draining;
 *   - duplicates: (job, state) pairs in more than one successful transaction (must be 0), failed
 *     transactions, and the outbox's final statuses (all COMMITTED);
 *   - baseline `oneJobPerTx`: the same path with one job per transaction (what the anchor's provider
 *     daemon does: a transaction per status report would be 3× worse still), on K jobs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { ChainSender } from '../../src/features/ledger/chain-sender';
import { ChainUsageReporter } from '../../src/features/ledger/chain-usage-reporter';
import { TxStore } from '../../src/features/ledger/chain-txs.repository';
import { DEFAULT_DRAINER_OPTIONS, OutboxDrainer } from '../../src/features/usage/outbox-drainer';
import { FakeChain } from '../../test/support/fake-chain/fake-chain';
import { chainClientFor, duplicateReports, freshDatabase, reportsOnChain, seedReportedJobs } from '../../test/support/ledger-fixtures';
import { newWallet } from '../../test/support/wallets';
import { eachFlag } from '../flags';
import { JobsRepository } from '../../src/features/jobs/jobs.repository';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  jobs: number;
  batchSize: number;
  maxMessages: number;
  baselineJobs: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { jobs: 10_000, batchSize: DEFAULT_DRAINER_OPTIONS.batchSize, maxMessages: 100, baselineJobs: 1000, write: true };
  eachFlag(argv, { integers: true }, (flag, num) => {
    switch (flag) {
      case '--jobs':
        s.jobs = num(1, 100_000);
        break;
      case '--batch-size':
        s.batchSize = num(1, 5000);
        break;
      case '--max-msgs':
        s.maxMessages = num(3, 1000);
        break;
      case '--baseline-jobs':
        s.baselineJobs = num(0, 100_000);
        break;
      case '--no-write':
        s.write = false;
        break;
      default:
        throw new Error(`unknown argument ${flag} (usage: [--jobs N] [--batch-size B] [--max-msgs M] [--baseline-jobs K] [--no-write])`);
    }
  });
  return s;
}

async function round(db: DataSource, jobs: number, batchSize: number, maxMessages: number) {
  await db.query('TRUNCATE chain_txs, chain_job_links, usage_rewards, usage_outbox, usage_records, jobs CASCADE');
  const fake = new FakeChain({ chainId: 'virtengine-bench-1' });
  await fake.start();
  try {
    const provider = await newWallet();
    fake.fund(provider.address);
    const seedStart = performance.now();
    await seedReportedJobs(
      db,
      fake,
      provider.address,
      Array.from({ length: jobs }, () => ({})),
    );
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const client = chainClientFor(fake);
    let sender: ChainSender | null = null;
    const connect = async () =>
      (sender ??= new ChainSender(await client.signer(provider.direct), new TxStore(db), {
        maxMessagesPerTx: maxMessages,
        maxGasPerTx: 4_000_000,
        memo: 'archipelago',
      }));
    const drainer = new OutboxDrainer(db, new ChainUsageReporter(db, client, connect, new JobsRepository(db)), {
      ...DEFAULT_DRAINER_OPTIONS,
      batchSize,
      confirmAfterSeconds: 0,
    });
    const t0 = performance.now();
    let passes = 0;
    for (;;) {
      passes++;
      if ((await drainer.drainOnce()) > 0) continue;
      const [{ open }] = await db.query(`SELECT count(*)::int AS open FROM usage_outbox WHERE status IN ('PENDING', 'BROADCAST')`);
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const statuses = Object.fromEntries(
      (await db.query('SELECT status, count(*)::int AS n FROM usage_outbox GROUP BY status')).map((r: any) => [r.status, r.n]),
    );
    const reports = reportsOnChain(fake);
    const transactions = fake.ledger.txs.length;
    client.disconnect();
    return {
      jobs,
      drainerBatchSize: batchSize,
      maxMessagesPerTx: maxMessages,
      seedSeconds: round3(seedSeconds),
      drainSeconds: round3(seconds),
      jobsPerSecond: Math.round(jobs / seconds),
      messagesPerSecond: Math.round(reports.length / seconds),
      transactions,
      failedTransactions: fake.ledger.txs.filter((t) => t.code !== 0).length,
      messages: reports.length,
      messagesPerTransaction: round3(reports.length / transactions),
      broadcasts: fake.count('broadcast_tx_sync'),
      jobQueries: fake.count('/virtengine.hpc.v1.Query/Job'),
      simulations: fake.count('/cosmos.tx.v1beta1.Service/Simulate'),
      drainPasses: passes,
      duplicates: duplicateReports(fake).length,
      outbox: statuses,
      jobsEndedOnChain: [...fake.modules.jobs.values()].filter((j) => j.state === 4).length,
    };
  } finally {
    await fake.stop();
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const db = await freshDatabase('ledger_bench', 8);
  try {
    const batched = await round(db, settings.jobs, settings.batchSize, settings.maxMessages);
    process.stderr.write(
      `batched: ${batched.jobs} jobs in ${batched.drainSeconds} s (${batched.jobsPerSecond} jobs/s), ${batched.transactions} transactions, ${batched.duplicates} duplicates\n`,
    );
    const baseline = settings.baselineJobs > 0 ? await round(db, settings.baselineJobs, settings.batchSize, 3) : null;
    if (baseline)
      process.stderr.write(
        `baseline one job per transaction: ${baseline.jobs} jobs in ${baseline.drainSeconds} s (${baseline.jobsPerSecond} jobs/s), ${baseline.transactions} transactions\n`,
      );
    const result = {
      benchmark: 'ledger',
      at: new Date().toISOString(),
      machine: machineAtEnd(machine),
      batched,
      baseline: baseline && { name: 'oneJobPerTx', ...baseline },
      speedupVsBaseline: baseline ? round3(batched.jobsPerSecond / baseline.jobsPerSecond) : null,
      pass: batched.duplicates === 0 && batched.outbox.COMMITTED === batched.jobs && batched.failedTransactions === 0,
    };
    const json = JSON.stringify(result, null, 2);
    process.stdout.write(`${json}\n`);
    if (settings.write) {
      const dir = resolve(__dirname, '../../../benchmarks/results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `ledger-${result.at.replace(/[:.]/g, '-')}.json`), `${json}\n`);
    }
    if (!result.pass) process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
