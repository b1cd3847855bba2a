import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { Tx } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { ChainSigner } from '../../src/adapters/chain/chain-port';
import { ClusterState, MsgRegisterCluster, MsgUpdateCluster, MsgUpdateNodeMetadata, NodeState } from '../../src/adapters/chain/generated/virtengine';
import { ChainSender } from '../../src/features/ledger/chain-sender';
import { ProviderDaemon } from '../../src/features/ledger/provider-daemon';
import { TxStore } from '../../src/features/ledger/chain-txs.repository';
import { DEFAULT_PRICES } from '../../src/adapters/config/usage-settings';
import { FakeChain } from '../support/fake-chain/fake-chain';
import { chainClientFor, freshDatabase, OWNER } from '../support/ledger-fixtures';
import { newWallet, TestWallet } from '../support/wallets';
import { IslandsRepository } from '../../src/features/islands/islands.repository';
import { NodesRepository } from '../../src/features/nodes/nodes.repository';

const SETTINGS = { defaultRegion: 'unknown', offeringIdentityThreshold: 50, offeringMaxRuntimeSeconds: 86_400 };

/**
 * The provider daemon against the fake chain: islands registered and activated, offered per
 * partition, nodes kept alive in batches — each exactly once across crashes, and the chain's
 * refusals (an unknown cluster) recorded.
 */
describe('provider daemon on chain (fake chain, PostgreSQL outbox)', () => {
  let db: DataSource;
  let fake: FakeChain;
  let provider: TestWallet;

  before(async () => {
    db = await freshDatabase('ledger_provider');
  });
  after(async () => {
    await db?.destroy();
    await fake?.stop();
  });
  beforeEach(async () => {
    await fake?.stop();
    fake = new FakeChain({ chainId: 'virtengine-test-1' });
    await fake.start();
    provider = await newWallet();
    fake.fund(provider.address);
    await db.query('TRUNCATE chain_txs, chain_outbox, chain_clusters, chain_node_generations, latency_samples, nodes, islands CASCADE');
  });

  async function island(
    name: string,
    partitions: string[],
    nodes: Array<{ name: string; region?: string; gpus?: number }>,
    measured = true,
  ): Promise<string[]> {
    await db.query(`INSERT INTO islands (name, topology_id, tier, bound_ms, state, launcher, partitions) VALUES ($1, $1, 'metro', 5, 'ACTIVE', 'none', $2)`, [
      name,
      partitions,
    ]);
    const ids: string[] = [];
    for (const node of nodes) {
      const inventory = { cpus: 16, memoryMb: 65536, gpus: node.gpus ? [{ model: 'a100', count: node.gpus }] : [], features: [], performance: 'high' };
      const [{ id }] = await db.query(
        `INSERT INTO nodes (provider_id, name, public_key, inventory, tags, probe_address, state, island) VALUES ($1, $2, $3, $4, $5, '127.0.0.1:1', 'ACTIVE', $6) RETURNING id::text`,
        [OWNER, node.name, randomBytes(32).toString('base64'), inventory, node.region ? { region: node.region } : {}, name],
      );
      ids.push(id);
    }
    for (const from of measured ? ids : []) {
      for (const to of ids) {
        if (from !== to) await db.query(`INSERT INTO latency_samples (from_node, to_node, rtt_ms, loss, probes) VALUES ($1, $2, 2.4, 0, 3)`, [from, to]);
      }
    }
    return ids;
  }

  function daemonAndSender(wrap: (s: ChainSigner) => ChainSigner = (s) => s) {
    const client = chainClientFor(fake);
    const daemon = new ProviderDaemon(
      db,
      { settings: SETTINGS, pricesFor: () => DEFAULT_PRICES, denom: 'uvirt', maxBackoffSeconds: 0 },
      new IslandsRepository(db),
      new NodesRepository(db),
    );
    const sender = async () =>
      new ChainSender(wrap(await client.signer(provider.direct)), new TxStore(db), { maxMessagesPerTx: 100, maxGasPerTx: 4_000_000, memo: 'archipelago' });
    return { daemon, sender };
  }

  const messagesOfType = (typeUrl: string) =>
    fake.ledger.txs.filter((t) => t.code === 0).flatMap((t) => Tx.decode(t.tx).body!.messages.filter((m) => m.typeUrl === typeUrl));

  it('registers an island, makes it ACTIVE, offers each partition and keeps every node alive, in few transactions', async () => {
    await island(
      'isl-a',
      ['batch', 'gpu'],
      [
        { name: 'n-a1', region: 'eu-west', gpus: 2 },
        { name: 'n-a2', region: 'eu-west' },
        { name: 'n-a3', region: 'eu-north' },
      ],
    );
    const { daemon, sender } = daemonAndSender();
    const s = await sender();
    await daemon.round(s, 1_000);

    assert.equal(fake.modules.clusters.size, 1);
    const [cluster] = fake.modules.clusters.values();
    assert.equal(cluster.state, ClusterState.CLUSTER_STATE_ACTIVE, 'activated after the keeper stored PENDING');
    assert.equal(cluster.region, 'eu-west', 'the region most nodes name');
    assert.equal(cluster.totalNodes, 3);
    const [{ cluster_id }] = await db.query(`SELECT cluster_id FROM chain_clusters WHERE island = 'isl-a'`);
    assert.equal(cluster_id, cluster.clusterId);
    assert.deepEqual([...fake.modules.offerings.values()].map((o) => o.queues).sort(), [['batch'], ['gpu']]);
    assert.equal(fake.modules.nodes.size, 3);
    for (const node of fake.modules.nodes.values()) {
      assert.equal(node.state, NodeState.NODE_STATE_ACTIVE);
      assert.equal(node.clusterId, cluster.clusterId);
      assert.deepEqual(node.latencyMs, [3n, 3n], 'measured RTTs to both peers, rounded up to whole ms');
      assert.equal(node.lastSequenceNumber, 1_000n);
    }
    assert.equal(fake.modules.nodes.get('n-a3')!.region, 'eu-north');
    const registration = MsgRegisterCluster.decode(messagesOfType(MsgRegisterCluster.typeUrl)[0].value);
    assert.equal(registration.clusterMetadata?.totalGpus, 2n);
    // register (1 tx), then activate + 2 offerings + 3 nodes (1 tx)
    assert.equal(fake.ledger.txs.length, 2);

    await daemon.round(s, 31_000);
    assert.equal(fake.modules.clusters.size, 1, 'never registered twice');
    assert.equal(fake.modules.offerings.size, 2, 'never offered twice');
    for (const node of fake.modules.nodes.values()) {
      assert.equal(node.updates, 2);
      assert.equal(node.lastSequenceNumber, 31_000n);
    }
    assert.equal(fake.ledger.txs.length, 3, 'a liveness round is one transaction for all nodes');
    for (const t of fake.ledger.txs) assert.equal(t.code, 0, t.log);
    // Every block x/hpc rewrites the cluster's capacity from its ACTIVE nodes' heartbeats: ours carry
    // each node's resources, so the sum is right, and we never fight it with MsgUpdateCluster.
    fake.advance(1);
    assert.deepEqual(fake.modules.clusters.get(cluster.clusterId)!.capacity, { availableNodes: 3, cpuCores: 48, memoryGb: 192, gpus: 2, storageGb: 0 });
    assert.equal(messagesOfType(MsgUpdateCluster.typeUrl).length, 1, 'sent once, to activate');
  });

  it('spreads our transactions so the account never has more than 10 in a block (the chain refuses the 11th)', async () => {
    // Blocks far slower than we sign (~5 tx/s here): without spreading, more than 10 would land in one.
    const freshBlocks = () => fake.produceBlocksEvery(5000);
    const client = chainClientFor(fake);
    const selfSend = (i: number) => ({
      key: `send-${i}`,
      messages: [
        {
          typeUrl: '/cosmos.bank.v1beta1.MsgSend',
          value: { fromAddress: provider.address, toAddress: provider.address, amount: [{ denom: 'uve', amount: '1' }] },
        },
      ],
    });
    const sendAll = async (count: number, maxTxsPerBlock?: number) => {
      const sender = new ChainSender(await client.signer(provider.direct), new TxStore(db), {
        maxMessagesPerTx: 1,
        maxGasPerTx: 4_000_000,
        memo: 'archipelago',
        blockPollMs: 50,
        ...(maxTxsPerBlock ? { maxTxsPerBlock } : {}),
      });
      const before = fake.count('broadcast_tx_sync');
      const outcomes = await sender.send(
        Array.from({ length: count }, (_, i) => selfSend(i)),
        async () => undefined,
      );
      assert.ok(
        [...outcomes.values()].every((o) => o.kind === 'committed' || o.kind === 'broadcast'),
        JSON.stringify([...outcomes.values()]),
      );
      return fake.count('broadcast_tx_sync') - before;
    };
    const perBlock = () => {
      const counts = new Map<number, number>();
      for (const t of fake.ledger.txs) if (t.code === 0) counts.set(t.height, (counts.get(t.height) ?? 0) + 1);
      return [...counts.values()];
    };
    try {
      // Our limit (10, the chain's default): never refused, just spread over blocks.
      freshBlocks();
      assert.equal(await sendAll(25), 25, 'no broadcast was refused');
      // A limit above the chain's: its 11th in a block is refused (ratelimit), sent again after the next block.
      freshBlocks();
      assert.ok((await sendAll(15, 1000)) > 15, 'the fake refused an 11th transaction in a block');
      assert.equal(fake.ledger.txs.filter((t) => t.code === 0).length, 40, 'every transaction landed once');
      assert.ok(Math.max(...perBlock()) <= 10, `per block: ${perBlock()}`);
    } finally {
      fake.produceBlocksEvery(0);
    }
  });

  it('a node the chain deregistered (silent over an hour) re-registers under a new id, its peers measured against that id', async () => {
    await island('isl-d', ['batch'], [{ name: 'n-d1' }, { name: 'n-d2' }]);
    const { daemon, sender } = daemonAndSender();
    const s = await sender();
    await daemon.round(s, 1_000);
    // Archipelago away for over an hour: x/hpc marks the nodes OFFLINE, then DEREGISTERED.
    fake.advance(301);
    fake.advance(3601);
    assert.deepEqual(
      [...fake.modules.nodes.values()].map((n) => n.state),
      [NodeState.NODE_STATE_DEREGISTERED, NodeState.NODE_STATE_DEREGISTERED],
    );
    await daemon.round(s, 5_000_000);
    assert.deepEqual(
      (await db.query(`SELECT retired_chain_node_id, generation FROM chain_node_generations ORDER BY retired_chain_node_id`)).map(
        (r: { retired_chain_node_id: string; generation: number }) => [r.retired_chain_node_id, r.generation],
      ),
      [
        ['n-d1', 2],
        ['n-d2', 2],
      ],
    );
    await daemon.round(s, 5_030_000);
    const renewed = fake.modules.nodes.get('n-d1-r2');
    assert.equal(renewed?.state, NodeState.NODE_STATE_ACTIVE);
    assert.equal(fake.modules.nodes.get('n-d2-r2')?.state, NodeState.NODE_STATE_ACTIVE);
    assert.equal(fake.modules.nodes.get('n-d1')?.state, NodeState.NODE_STATE_DEREGISTERED, 'the old id stays retired');
    const lastLiveness = MsgUpdateNodeMetadata.decode(messagesOfType(MsgUpdateNodeMetadata.typeUrl).at(-1)!.value);
    assert.deepEqual(
      lastLiveness.latencyMeasurements.map((m) => m.targetNodeId),
      [lastLiveness.nodeId === 'n-d1-r2' ? 'n-d2-r2' : 'n-d1-r2'],
    );
  });

  it('500 nodes are refreshed in a handful of transactions within gas', async () => {
    // Unmeasured (250k pairs would be slow to seed): liveness without measurements is still liveness.
    await island(
      'isl-big',
      ['batch'],
      Array.from({ length: 500 }, (_, i) => ({ name: `n-big-${i}`, region: 'us-east' })),
      false,
    );
    const { daemon, sender } = daemonAndSender();
    const s = await sender();
    await daemon.round(s, 5_000);
    const txsBefore = fake.ledger.txs.length;
    const t0 = Date.now();
    await daemon.round(s, 35_000);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal([...fake.modules.nodes.values()].filter((n) => n.lastSequenceNumber === 35_000n).length, 500);
    const used = fake.ledger.txs.length - txsBefore;
    assert.ok(used >= 5 && used <= 10, `${used} transactions for 500 node updates (≤ 100 messages each)`);
    assert.ok(seconds < 60, `a liveness round took ${seconds} s; it must stay well inside the chain's 120 s`);
  });

  it('crash between broadcast and confirmation of the registration: confirmed by hash after restart, cluster id from the response, no second cluster', async () => {
    await island('isl-c', ['batch'], [{ name: 'n-c1', region: 'eu-west' }]);
    const crashing = daemonAndSender((signer) => ({
      ...signer,
      submit: async (bytes) => {
        await signer.submit(bytes);
        throw new Error('SIGKILL after the node took the registration');
      },
    }));
    await assert.rejects(crashing.daemon.round(await crashing.sender(), 1_000), /SIGKILL/);
    assert.equal(fake.modules.clusters.size, 1);
    const [row] = await db.query(`SELECT status, tx_hash FROM chain_outbox WHERE kind = 'register-cluster'`);
    assert.equal(row.status, 'BROADCAST');

    await db.query(`UPDATE chain_outbox SET next_attempt_at = now()`); // the crashed lease runs out
    const restarted = daemonAndSender();
    await restarted.daemon.round(await restarted.sender(), 2_000);
    assert.equal(fake.modules.clusters.size, 1, 'registered once');
    const [cluster] = fake.modules.clusters.values();
    assert.equal(cluster.state, ClusterState.CLUSTER_STATE_ACTIVE);
    const [{ cluster_id }] = await db.query(`SELECT cluster_id FROM chain_clusters WHERE island = 'isl-c'`);
    assert.equal(cluster_id, cluster.clusterId);
    assert.equal(messagesOfType(MsgRegisterCluster.typeUrl).length, 1);
  });

  it('the chain refuses liveness for a cluster it does not know: recorded with its reason, the other island unaffected', async () => {
    const [ghostNode] = await island('isl-ghost', ['batch'], [{ name: 'n-g1', region: 'eu-west' }]);
    await island('isl-ok', ['batch'], [{ name: 'n-ok1', region: 'eu-west' }]);
    // A cluster id the chain never issued (e.g. recorded against another chain).
    await db.query(`INSERT INTO chain_clusters (island, cluster_id) VALUES ('isl-ghost', 'HPC-999')`);
    const { daemon, sender } = daemonAndSender();
    await daemon.round(await sender(), 1_000);
    const [liveness] = await db.query(`SELECT status, last_error FROM chain_outbox WHERE kind = 'node-liveness' AND subject = $1`, [ghostNode]);
    assert.equal(liveness.status, 'REJECTED');
    assert.match(liveness.last_error, /cluster HPC-999 not found/);
    const [activate] = await db.query(`SELECT status, last_error FROM chain_outbox WHERE dedupe_key = 'activate:isl-ghost:HPC-999'`);
    assert.equal(activate.status, 'REJECTED');
    assert.ok(fake.modules.nodes.has('n-ok1'), 'the other island went through');
    assert.ok(!fake.modules.nodes.has('n-g1'));
    const updates = messagesOfType(MsgUpdateNodeMetadata.typeUrl).length;
    await daemon.drainOnce(await sender());
    assert.equal(messagesOfType(MsgUpdateNodeMetadata.typeUrl).length, updates, 'a refusal is not retried');
  });

  it('a liveness round that died unsent is superseded by the next, not sent late with a stale sequence', async () => {
    await island(
      'isl-s',
      ['batch'],
      [
        { name: 'n-s1', region: 'eu-west' },
        { name: 'n-s2', region: 'eu-west' },
      ],
    );
    const normal = daemonAndSender();
    await normal.daemon.round(await normal.sender(), 1_000);
    const crashing = daemonAndSender((signer) => ({
      ...signer,
      submit: async () => {
        throw new Error('SIGKILL before sending');
      },
    }));
    await assert.rejects(crashing.daemon.round(await crashing.sender(), 31_000), /SIGKILL/);
    // The journaled transaction's sequence goes to another transaction: it can never land.
    const other = await chainClientFor(fake).signer(provider.direct);
    await other.signAndBroadcast([
      {
        typeUrl: '/cosmos.bank.v1beta1.MsgSend',
        value: { fromAddress: provider.address, toAddress: provider.address, amount: [{ denom: 'uve', amount: '1' }] },
      },
    ]);
    await db.query(`UPDATE chain_outbox SET next_attempt_at = now()`);
    const restarted = daemonAndSender();
    await restarted.daemon.round(await restarted.sender(), 61_000);
    const statuses = await db.query(`SELECT dedupe_key, status FROM chain_outbox WHERE kind = 'node-liveness' ORDER BY id`);
    assert.deepEqual(
      statuses.map((r: any) => r.status),
      ['COMMITTED', 'COMMITTED', 'SUPERSEDED', 'SUPERSEDED', 'COMMITTED', 'COMMITTED'],
    );
    assert.equal(fake.modules.nodes.get('n-s1')!.lastSequenceNumber, 61_000n);
    for (const t of fake.ledger.txs) assert.equal(t.code, 0, t.log);
  });

  it('chain down: nothing is lost; back up: registration and liveness go out once', async () => {
    await island('isl-d', ['batch'], [{ name: 'n-d1', region: 'eu-west' }]);
    const { daemon, sender } = daemonAndSender();
    const s = await sender();
    await fake.down();
    await daemon.round(s, 1_000);
    const [row] = await db.query(`SELECT status, last_error FROM chain_outbox WHERE kind = 'register-cluster'`);
    assert.equal(row.status, 'PENDING');
    assert.match(row.last_error, /ECONNREFUSED|fetch failed|connect/i);
    await fake.up();
    await daemon.round(s, 2_000);
    assert.equal(fake.modules.clusters.size, 1);
    assert.equal(fake.modules.nodes.get('n-d1')?.state, NodeState.NODE_STATE_ACTIVE);
    assert.equal(messagesOfType(MsgRegisterCluster.typeUrl).length, 1);
  });
});
