import type { DataSource } from 'typeorm';
import { fromBase64 } from '@cosmjs/encoding';
import { Tx } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { VirtEngineChainClient } from '../../src/adapters/chain/chain-client';
import { chainSettings } from '../../src/adapters/chain/chain-settings';
import { JobState, MsgReportJobStatus } from '../../src/adapters/chain/generated/virtengine';
import { splitRewards } from '../../src/core/usage/rewards';
import { buildUsageRecord } from '../../src/core/usage/usage-record';
import type { FakeChain } from './fake-chain/fake-chain';
import { migratedDatabase } from './migrated-database';

export const OWNER = '00000000-0000-0000-0000-000000000001';

/** A fresh database (name must start with `ledger`) with every migration and one researcher. */
export async function freshDatabase(name: string, poolSize = 8): Promise<DataSource> {
  if (!/^ledger[a-z0-9_]*$/.test(name)) throw new Error(`database ${name} is not ours`);
  const { db } = await migratedDatabase(name, poolSize);
  await db.query(`INSERT INTO principals (id, name, kind, slurm_user) VALUES ($1, 'alice', 'researcher', 'alice')`, [OWNER]);
  return db;
}

/** Our client against the fake (fast polling: the fake makes a block per transaction). */
export function chainClientFor(fake: FakeChain): VirtEngineChainClient {
  const settings = chainSettings({ CHAIN_RPC_URL: fake.url, CHAIN_ID: fake.chainId, CHAIN_BROADCAST_POLL_MS: '20' });
  return new VirtEngineChainClient({ ...settings, rpcUrl: fake.url });
}

export interface SeedJob {
  /** Our final state; `started: false` = never ran. */
  state?: string;
  started?: boolean;
  /** The chain job's id; null = a REST job with no chain job. */
  chainJobId?: string | null;
  /** The chain job's state when seeded (PENDING by default). */
  chainState?: JobState;
}

let slurmIds = 1000;

/**
 * Ended, accounted jobs with a usage record and a PENDING outbox entry each, linked to chain jobs
 * the fake holds for `provider` — what the accounting worker leaves for the reporter.
 */
export async function seedReportedJobs(
  db: DataSource,
  fake: FakeChain,
  provider: string,
  jobs: SeedJob[],
): Promise<Array<{ jobId: string; recordId: string; chainJobId: string | null }>> {
  const seeded = [];
  for (const job of jobs) {
    const state = job.state ?? 'COMPLETED';
    const started = job.started ?? true;
    const slurmJobId = ++slurmIds;
    const [{ id: jobId }] = await db.query(
      `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, island, state, slurm_job_id, exit_code, ended_at, accounted_at)
       VALUES ($1, 'alice', '\\x00', 'j', '#!/bin/sh', '{}', '{}', '/tmp', 'acct-a', $2, $3, $4, now(), now()) RETURNING id::text`,
      [OWNER, state, slurmJobId, state === 'COMPLETED' ? 0 : 1],
    );
    const wall = started ? 120 : 0;
    const record = buildUsageRecord({
      jobId,
      ownerId: OWNER,
      state,
      usage: {
        key: { island: 'acct-a', slurmJobId, submitTime: 1_764_000_000 },
        metrics: {
          nodeSeconds: wall * 2,
          cpuCoreSeconds: wall * 8,
          memoryMbSeconds: wall * 4096,
          gpuSeconds: started ? { a100: wall } : {},
          wallSeconds: wall,
          memoryGbSeconds: String(wall * 4),
          nodeHours: ((wall * 2) / 3600).toFixed(6),
          nodesUsed: started ? 2 : 0,
          runs: 1,
          requeuedRuns: 0,
          started,
        },
        nodes: [],
        runs: [
          {
            slurmJobId,
            state,
            submitTime: 1_764_000_000,
            startTime: started ? 1_764_000_010 : null,
            endTime: 1_764_000_010 + wall,
            elapsedSeconds: wall,
            nodes: [],
            allocated: { cpu: 8, memMb: 4096, nodes: 2, gpus: 1 },
          },
        ],
      },
      billing: { pricing: 'archipelago.pricing/v1', denom: 'uvirt', rewards: splitRewards(0n, []) },
      epoch: 20428,
    });
    const [{ id: recordId }] = await db.query(
      `INSERT INTO usage_records (job_id, owner_id, island, slurm_job_id, slurm_submit_time, canonical, content_hash, signature, signature_algorithm, signer_public_key, denom, billed, epoch)
       VALUES ($1, $2, 'acct-a', $3, 1764000000, $4, $5, $6, 'ed25519', 'pk', 'uvirt', 0, 20428) RETURNING id::text`,
      [jobId, OWNER, slurmJobId, record.canonical, record.contentHash, Buffer.alloc(64, slurmJobId % 251)],
    );
    await db.query('INSERT INTO usage_outbox (usage_record_id) VALUES ($1)', [recordId]);
    const chainJobId = job.chainJobId === undefined ? `JOB-${slurmJobId}` : job.chainJobId;
    if (chainJobId) {
      await db.query('INSERT INTO chain_job_links (job_id, chain_job_id) VALUES ($1, $2)', [jobId, chainJobId]);
      fake.addJob({ jobId: chainJobId, providerAddress: provider, state: job.chainState ?? JobState.JOB_STATE_PENDING });
    }
    seeded.push({ jobId, recordId, chainJobId });
  }
  return seeded;
}

/** Every MsgReportJobStatus in every transaction the fake put in a block (failed ones too), in order. */
export function reportsOnChain(fake: FakeChain): Array<MsgReportJobStatus & { txCode: number }> {
  return fake.ledger.txs.flatMap((t) =>
    (Tx.decode(t.tx).body?.messages ?? [])
      .filter((m) => m.typeUrl === MsgReportJobStatus.typeUrl)
      .map((m) => ({ ...MsgReportJobStatus.decode(m.value), txCode: t.code })),
  );
}

/** (job, state) pairs reported more than once in transactions that succeeded. */
export function duplicateReports(fake: FakeChain): string[] {
  const seen = new Map<string, number>();
  for (const r of reportsOnChain(fake)) if (r.txCode === 0) seen.set(`${r.jobId}/${r.state}`, (seen.get(`${r.jobId}/${r.state}`) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

export const decodeTx = (base64: string) => Tx.decode(fromBase64(base64));
