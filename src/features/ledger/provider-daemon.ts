import type { EncodeObject, GeneratedType } from '@cosmjs/proto-signing';
import type { DataSource } from 'typeorm';
import { chainRegistry } from '../../adapters/chain/chain-registry';
import { MsgRegisterClusterResponse } from '../../adapters/chain/generated/virtengine';
import { rows } from '../../adapters/postgres/sql';
import type { OfferingPrices } from '../../core/usage/pricing';
import type { ChainSender, MsgResponse, Resolution, SendOutcome } from './chain-sender';
import type { LedgerSettings } from '../../adapters/config/ledger-settings';
import { activateCluster, createOffering, IslandFacts, NodeFacts, nodeLiveness, registerCluster } from './provider-messages';

/** 'refuse-job' rows are written by chain ingress (a refused chain job reported FAILED); drained here like the rest. */
type Kind = 'register-cluster' | 'activate-cluster' | 'create-offering' | 'node-liveness' | 'refuse-job';

interface OutboxRow {
  id: string;
  kind: Kind;
  subject: string;
  type_url: string;
  value: Buffer;
  status: 'PENDING' | 'BROADCAST';
  tx_hash: string | null;
  tx_message_index: number | null;
  attempts: number;
}

export interface ProviderDaemonOptions {
  settings: Pick<LedgerSettings, 'defaultRegion' | 'offeringIdentityThreshold' | 'offeringMaxRuntimeSeconds'>;
  pricesFor: (island: string) => OfferingPrices;
  denom: string;
  /** Rows leased per drain pass. */
  batchSize?: number;
  maxBackoffSeconds?: number;
}

const registry = chainRegistry();

/**
 * Archipelago as the provider daemon of its islands: each ACTIVE island with nodes is registered
 * (MsgRegisterCluster), then made ACTIVE (MsgUpdateCluster: the keeper stores PENDING) and offered
 * per partition (MsgCreateOffering); every ACTIVE node of a registered island gets
 * MsgUpdateNodeMetadata each round. Everything goes through `chain_outbox` under a unique key
 * (`register:<island>`, `offering:<island>:<partition>`, `liveness:<node>:<round>`…) and the same
 * ChainSender as usage reports (journal before sending, confirm by hash), so a restart or a chain
 * outage never sends anything twice; a round of liveness that could not go out is superseded by
 * the next (its sequence would be stale anyway).
 */
export class ProviderDaemon {
  private readonly batchSize: number;
  private readonly maxBackoffSeconds: number;

  constructor(
    private readonly db: DataSource,
    private readonly options: ProviderDaemonOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBackoffSeconds = options.maxBackoffSeconds ?? 300;
  }

  /** One round: plan and drain, twice, so an island registered in this round is also activated, offered and refreshed. */
  async round(sender: ChainSender, now = Date.now()): Promise<void> {
    for (let pass = 0; pass < 2; pass++) {
      await this.plan(sender.address, now);
      while ((await this.drainOnce(sender)) > 0) {
        // until nothing is due or everything due has to wait (chain down)
      }
    }
  }

  /** Adds what is missing to the outbox; returns how many rows were added. */
  async plan(provider: string, now = Date.now()): Promise<number> {
    const islands = await this.islands();
    const clusters = new Map<string, string>(
      (await this.db.query('SELECT island, cluster_id FROM chain_clusters')).map((r: { island: string; cluster_id: string }) => [r.island, r.cluster_id]),
    );
    const { settings } = this.options;
    const planned: Array<{ key: string; kind: Kind; subject: string; message: EncodeObject }> = [];
    for (const island of islands) {
      const clusterId = clusters.get(island.name);
      if (!clusterId) {
        planned.push({ key: `register:${island.name}`, kind: 'register-cluster', subject: island.name, message: registerCluster(provider, island, settings.defaultRegion) });
        continue;
      }
      planned.push({ key: `activate:${island.name}:${clusterId}`, kind: 'activate-cluster', subject: island.name, message: activateCluster(provider, clusterId) });
      for (const partition of island.partitions) {
        const terms = { identityThreshold: settings.offeringIdentityThreshold, maxRuntimeSeconds: settings.offeringMaxRuntimeSeconds };
        const message = createOffering(provider, clusterId, island, partition, this.options.pricesFor(island.name), this.options.denom, terms);
        planned.push({ key: `offering:${island.name}:${clusterId}:${partition}`, kind: 'create-offering', subject: island.name, message });
      }
    }
    let added = 0;
    for (const p of planned) added += await this.enqueue(p.key, p.kind, p.subject, p.message);
    added += await this.planLiveness(provider, islands, clusters, now);
    return added;
  }

  private async planLiveness(provider: string, islands: IslandFacts[], clusters: Map<string, string>, now: number): Promise<number> {
    let added = 0;
    for (const island of islands) {
      const clusterId = clusters.get(island.name);
      if (!clusterId) continue;
      for (const node of island.nodes) {
        // The previous round's message, if it never went out, is stale now: this one replaces it.
        await this.db.query(
          `UPDATE chain_outbox SET status = 'SUPERSEDED', updated_at = now() WHERE kind = 'node-liveness' AND subject = $1 AND status = 'PENDING'`,
          [node.id],
        );
        added += await this.enqueue(`liveness:${node.id}:${now}`, 'node-liveness', node.id, nodeLiveness(provider, clusterId, node, BigInt(now), this.options.settings.defaultRegion));
      }
    }
    return added;
  }

  private async enqueue(key: string, kind: Kind, subject: string, message: EncodeObject): Promise<number> {
    const type = registry.lookupType(message.typeUrl) as GeneratedType & { encode(m: unknown): { finish(): Uint8Array } };
    const result = await rows(
      this.db,
      `INSERT INTO chain_outbox (dedupe_key, kind, subject, type_url, value) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [key, kind, subject, message.typeUrl, Buffer.from(type.encode(message.value).finish())],
    );
    return result.length;
  }

  /** One batch of due rows; returns how many moved on (a row told to retry later does not count). */
  async drainOnce(sender: ChainSender): Promise<number> {
    const leased = await rows<OutboxRow>(
      this.db,
      `WITH due AS (
         SELECT id FROM chain_outbox WHERE status IN ('PENDING', 'BROADCAST') AND next_attempt_at <= now()
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE chain_outbox o SET next_attempt_at = now() + interval '60 seconds', attempts = o.attempts + 1, updated_at = now()
         FROM due WHERE o.id = due.id
       RETURNING o.id::text, o.kind, o.subject, o.type_url, o.value, o.status, o.tx_hash, o.tx_message_index, o.attempts`,
      [this.batchSize],
    );
    if (leased.length === 0) return 0;
    let retried = 0;
    leased.sort((a, b) => Number(a.id) - Number(b.id));
    const toSend: OutboxRow[] = [];
    const resolutions = new Map<string, Resolution>();
    for (const row of leased) {
      if (row.status !== 'BROADCAST' || !row.tx_hash) {
        toSend.push(row);
        continue;
      }
      if (!resolutions.has(row.tx_hash)) resolutions.set(row.tx_hash, await sender.resolve(row.tx_hash));
      const resolution = resolutions.get(row.tx_hash)!;
      if (resolution.kind === 'committed') {
        await this.finish(row, { kind: 'committed', txHash: row.tx_hash, responses: row.tx_message_index === null ? [] : resolution.responses.slice(row.tx_message_index, row.tx_message_index + 1) });
      } else if (resolution.kind === 'pending') {
        await this.finish(row, { kind: 'broadcast', txHash: row.tx_hash });
      } else if (row.kind === 'node-liveness' && (await this.superseded(row))) {
        // A newer round exists: this one's sequence would be refused as stale.
        await this.db.query(`UPDATE chain_outbox SET status = 'SUPERSEDED', updated_at = now() WHERE id = $1`, [row.id]);
      } else {
        toSend.push(row);
      }
    }
    const byId = new Map(toSend.map((row) => [row.id, row]));
    const items = toSend.map((row) => ({ key: row.id, messages: [{ typeUrl: row.type_url, value: (registry.lookupType(row.type_url) as GeneratedType & { decode(b: Uint8Array): unknown }).decode(row.value) }] }));
    const outcomes = await sender.send(items, async (keys, tx) => {
      await this.db.query(
        `UPDATE chain_outbox o SET status = 'BROADCAST', tx_hash = $2, tx_message_index = k.ord - 1, updated_at = now()
           FROM unnest($1::bigint[]) WITH ORDINALITY AS k(id, ord) WHERE o.id = k.id`,
        [keys, tx.hash],
      );
    });
    for (const [id, outcome] of outcomes) {
      if (outcome.kind === 'retry') retried++;
      await this.finish(byId.get(id)!, outcome);
    }
    return leased.length - retried;
  }

  private async superseded(row: OutboxRow): Promise<boolean> {
    const newer = await this.db.query(`SELECT 1 FROM chain_outbox WHERE kind = 'node-liveness' AND subject = $1 AND id > $2 LIMIT 1`, [row.subject, row.id]);
    return newer.length > 0;
  }

  private async finish(row: OutboxRow, outcome: SendOutcome): Promise<void> {
    const open = `id = $1 AND status IN ('PENDING', 'BROADCAST')`;
    switch (outcome.kind) {
      case 'committed': {
        const response: MsgResponse | undefined = outcome.responses[0];
        await this.db.transaction(async (tx) => {
          await tx.query(`UPDATE chain_outbox SET status = 'COMMITTED', tx_hash = $2, response = $3, last_error = NULL, updated_at = now() WHERE ${open}`, [
            row.id, outcome.txHash, response ? Buffer.from(response.value) : null,
          ]);
          if (row.kind === 'register-cluster') {
            if (!response) throw new Error(`registration of ${row.subject} committed in ${outcome.txHash} without a response`);
            const { clusterId } = MsgRegisterClusterResponse.decode(response.value);
            await tx.query('INSERT INTO chain_clusters (island, cluster_id) VALUES ($1, $2)', [row.subject, clusterId]);
          }
        });
        return;
      }
      case 'broadcast':
        await this.db.query(`UPDATE chain_outbox SET status = 'BROADCAST', tx_hash = $2, next_attempt_at = now() + interval '5 seconds', updated_at = now() WHERE ${open}`, [row.id, outcome.txHash]);
        return;
      case 'rejected':
        await this.db.query(`UPDATE chain_outbox SET status = 'REJECTED', last_error = $2, updated_at = now() WHERE ${open}`, [row.id, outcome.reason]);
        return;
      case 'retry': {
        const delay = Math.min(this.maxBackoffSeconds, 2 ** Math.min(row.attempts, 20));
        await this.db.query(`UPDATE chain_outbox SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3), updated_at = now() WHERE ${open}`, [row.id, outcome.reason, delay]);
      }
    }
  }

  /** ACTIVE islands with their ACTIVE nodes (an island needs at least one) and measured RTTs between members. */
  private async islands(): Promise<IslandFacts[]> {
    const nodes = await rows<{ island: string; partitions: string[]; id: string; name: string; inventory: NodeFacts['inventory']; tags: NodeFacts['tags'] }>(
      this.db,
      `SELECT i.name AS island, i.partitions, n.id::text, n.name, n.inventory, n.tags
         FROM islands i JOIN nodes n ON n.island = i.name AND n.state = 'ACTIVE'
        WHERE i.state = 'ACTIVE' ORDER BY i.name, n.name`,
    );
    const samples = await rows<{ from_node: string; to_name: string; rtt_ms: number; measured_at: Date }>(
      this.db,
      `SELECT s.from_node::text, t.name AS to_name, s.rtt_ms, s.measured_at
         FROM latency_samples s JOIN nodes f ON f.id = s.from_node JOIN nodes t ON t.id = s.to_node
        WHERE f.island IS NOT NULL AND f.island = t.island AND s.rtt_ms IS NOT NULL ORDER BY t.name`,
    );
    const latencies = new Map<string, NodeFacts['latencies']>();
    for (const s of samples) {
      const list = latencies.get(s.from_node) ?? [];
      list.push({ to: s.to_name, rttMs: s.rtt_ms, measuredAt: s.measured_at });
      latencies.set(s.from_node, list);
    }
    const islands = new Map<string, IslandFacts>();
    for (const n of nodes) {
      const island = islands.get(n.island) ?? { name: n.island, partitions: n.partitions, nodes: [] };
      island.nodes.push({ id: n.id, name: n.name, inventory: n.inventory, tags: n.tags, latencies: latencies.get(n.id) ?? [] });
      islands.set(n.island, island);
    }
    return [...islands.values()];
  }
}
