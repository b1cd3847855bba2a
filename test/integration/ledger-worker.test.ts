import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ClusterState, JobState, NodeState } from '../../src/adapters/chain/generated/virtengine';
import { ControlPlane } from '../support/control-plane';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { OWNER, seedReportedJobs } from '../support/ledger-fixtures';
import { newWallet } from '../support/wallets';

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The real worker process with CHAIN_RPC_URL and CHAIN_PROVIDER_KEY_FILE set: the chain reporter is
 * bound to the usage outbox and the provider daemon runs, against the fake chain.
 */
describe('worker reports on chain when configured (real processes, fake chain)', () => {
  const fake = new FakeChain({ chainId: 'virtengine-test-1' });
  let cp: ControlPlane;
  let db: DataSource;
  let provider: Awaited<ReturnType<typeof newWallet>>;

  before(async () => {
    await fake.start();
    provider = await newWallet();
    fake.fund(provider.address);
    const keyFile = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'provider.key');
    writeFileSync(keyFile, provider.mnemonic, { mode: 0o600 });
    cp = new ControlPlane('ledger-worker', {
      islands: [{ name: 'local-a' }],
      redisDb: 0,
      databaseName: 'ledger_worker',
      env: {
        CHAIN_RPC_URL: fake.url,
        CHAIN_ID: fake.chainId,
        CHAIN_PROVIDER_KEY_FILE: keyFile,
        CHAIN_LIVENESS_INTERVAL_MS: '500',
        CHAIN_BROADCAST_POLL_MS: '50',
        ARCHIPELAGO_USAGE_INTERVAL_MS: '200',
      },
    });
    await cp.start();
    db = new DataSource({ type: 'postgres', url: cp.databaseUrl });
    await db.initialize();
  });
  after(async () => {
    await db?.destroy();
    await cp?.stop();
    await fake.stop();
  });

  it('registers and activates the island, keeps its node alive, and reports a finished job through the outbox', async () => {
    await db.query(`INSERT INTO principals (id, name, kind, slurm_user) VALUES ($1, 'ledger-alice', 'researcher', 'alice') ON CONFLICT DO NOTHING`, [OWNER]);
    await db.query(
      `INSERT INTO islands (name, topology_id, tier, bound_ms, state, launcher, partitions) VALUES ('isl-w', 'isl-w', 'metro', 5, 'ACTIVE', 'none', '{batch}')`,
    );
    await db.query(
      `INSERT INTO nodes (provider_id, name, public_key, inventory, tags, probe_address, state, island)
       VALUES ($1, 'n-w1', 'pk-w1', '{"cpus": 8, "memoryMb": 16384, "gpus": [], "features": [], "performance": "high"}', '{"region": "eu-west"}', '127.0.0.1:1', 'ACTIVE', 'isl-w')`,
      [OWNER],
    );
    const [job] = await seedReportedJobs(db, fake, provider.address, [{}]);

    await eventually('the cluster ACTIVE on chain', () => [...fake.modules.clusters.values()].some((c) => c.state === ClusterState.CLUSTER_STATE_ACTIVE));
    await eventually('the node ACTIVE on chain', () => fake.modules.nodes.get('n-w1')?.state === NodeState.NODE_STATE_ACTIVE);
    await eventually('the offering', () => fake.modules.offerings.size === 1);
    await eventually('the job COMPLETED on chain', () => fake.modules.jobs.get(job.chainJobId!)?.state === JobState.JOB_STATE_COMPLETED);
    await eventually(
      'the outbox entry COMMITTED',
      async () => (await db.query('SELECT status FROM usage_outbox WHERE usage_record_id = $1', [job.recordId]))[0].status === 'COMMITTED',
    );
    const updates = fake.modules.nodes.get('n-w1')!.updates;
    await eventually('a second liveness round', () => fake.modules.nodes.get('n-w1')!.updates > updates, 10_000);
    assert.equal(fake.modules.clusters.size, 1);
  });
});
