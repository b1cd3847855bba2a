import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DataSource } from 'typeorm';
import { virtEngineMessageType } from '../../adapters/chain/virtengine-messages';
import { Outbox, type OutboxTable } from '../../adapters/postgres/outbox';
import { rows } from '../../adapters/postgres/sql';
import { transaction } from '../../adapters/postgres/transactions';
import type { OutboxOutcome } from '../../core/common/outbox-state';

/**
 * 'refuse-job' and 'job-progress' rows come from chain ingress (a refused chain job reported
 * FAILED; an imported one reported QUEUED / RUNNING as it happens); the provider daemon drains them with the rest.
 */
export type ChainOutboxKind = 'register-cluster' | 'activate-cluster' | 'create-offering' | 'node-liveness' | 'refuse-job' | 'job-progress';

export interface ChainOutboxRow {
  id: string;
  kind: ChainOutboxKind;
  subject: string;
  type_url: string;
  value: Buffer;
  status: 'PENDING' | 'BROADCAST';
  tx_hash: string | null;
  tx_message_index: number | null;
  attempts: number;
}

const CHAIN_OUTBOX: OutboxTable = { name: 'chain_outbox', key: 'id', keyType: 'bigint', order: 'id', messageIndex: true };

/** Longest wait between tries of a message the chain could not take. */
export const CHAIN_OUTBOX_MAX_BACKOFF_SECONDS = 300;

/** A leased row is not offered to another drainer for this long. */
const LEASE_SECONDS = 60;

/**
 * `chain_outbox` (messages for the chain under a unique key, through the generic outbox) and
 * `chain_clusters` (the cluster id a committed registration returned, stored with that commit).
 */
export class ChainOutboxRepository {
  private readonly outbox: Outbox;

  constructor(
    private readonly db: DataSource,
    maxBackoffSeconds: number,
  ) {
    this.outbox = new Outbox(db, CHAIN_OUTBOX, maxBackoffSeconds);
  }

  /** Queues `message` under `key` (once: a key already queued adds nothing); whether it was added. */
  enqueue(key: string, kind: ChainOutboxKind, subject: string, message: EncodeObject): Promise<boolean> {
    const type = virtEngineMessageType(message.typeUrl);
    return this.outbox.add(
      { dedupe_key: key, kind, subject, type_url: message.typeUrl, value: Buffer.from(type.encode(message.value).finish()) },
      'dedupe_key',
    );
  }

  async lease(limit: number): Promise<ChainOutboxRow[]> {
    const leased = await this.outbox.lease<ChainOutboxRow>(
      limit,
      LEASE_SECONDS,
      'o.id::text, o.kind, o.subject, o.type_url, o.value, o.status, o.tx_hash, o.tx_message_index, o.attempts',
    );
    return leased.sort((a, b) => Number(a.id) - Number(b.id));
  }

  markBroadcast(ids: string[], txHash: string): Promise<void> {
    return this.outbox.markBroadcast(ids, txHash);
  }

  settle(row: ChainOutboxRow, outcome: OutboxOutcome, response: Uint8Array | null = null): Promise<void> {
    return this.outbox.settle(row.id, row.attempts, outcome, outcome.kind === 'committed' ? { response: response ? Buffer.from(response) : null } : {});
  }

  /** A registration committed: the row and the cluster id the chain gave the island, together. */
  async settleRegistration(row: ChainOutboxRow, txHash: string, response: Uint8Array, clusterId: string): Promise<void> {
    await transaction(this.db, async () => {
      await this.settle(row, { kind: 'committed', txHash }, response);
      await rows(this.db, 'INSERT INTO chain_clusters (island, cluster_id) VALUES ($1, $2)', [row.subject, clusterId]);
    });
  }

  /** The node's liveness rounds that never went out are stale once a newer round is queued. */
  supersedeLiveness(nodeId: string): Promise<void> {
    return this.outbox.supersede(`kind = 'node-liveness' AND subject = $1 AND status = 'PENDING'`, [nodeId]);
  }

  supersede(row: ChainOutboxRow): Promise<void> {
    return this.outbox.settle(row.id, row.attempts, { kind: 'superseded' });
  }

  /** A newer liveness round of the same node is queued (this one's sequence would be refused as stale). */
  async hasNewerLiveness(row: ChainOutboxRow): Promise<boolean> {
    const newer = await rows(this.db, `SELECT 1 FROM chain_outbox WHERE kind = 'node-liveness' AND subject = $1 AND id > $2 LIMIT 1`, [row.subject, row.id]);
    return newer.length > 0;
  }

  /** Nodes the chain deregistered, with the generation they report under now. */
  async nodeGenerations(): Promise<Map<string, number>> {
    const found = await rows<{ node_id: string; generation: number }>(this.db, 'SELECT node_id::text AS node_id, generation FROM chain_node_generations');
    return new Map(found.map((r) => [r.node_id, r.generation]));
  }

  /** The chain retired `retiredChainNodeId`: the node's next generation (2 the first time). */
  async nextNodeGeneration(nodeId: string, retiredChainNodeId: string): Promise<number> {
    const [row] = await rows<{ generation: number }>(
      this.db,
      `INSERT INTO chain_node_generations (node_id, generation, retired_chain_node_id) VALUES ($1, 2, $2)
       ON CONFLICT (node_id) DO UPDATE SET generation = chain_node_generations.generation + 1, retired_chain_node_id = $2, updated_at = now()
       RETURNING generation`,
      [nodeId, retiredChainNodeId],
    );
    return row.generation;
  }

  async clusters(): Promise<Map<string, string>> {
    const found = await rows<{ island: string; cluster_id: string }>(this.db, 'SELECT island, cluster_id FROM chain_clusters');
    return new Map(found.map((r) => [r.island, r.cluster_id]));
  }
}
