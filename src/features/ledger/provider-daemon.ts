import { Logger } from '@nestjs/common';
import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DataSource } from 'typeorm';
import { virtEngineMessageType } from '../../adapters/chain/virtengine-messages';
import { MsgRegisterClusterResponse } from '../../adapters/chain/generated/virtengine';
import type { OfferingPrices } from '../../core/usage/pricing';
import type { ChainSender, MsgResponse, Resolution, SendOutcome } from './chain-sender';
import { CHAIN_OUTBOX_MAX_BACKOFF_SECONDS, type ChainOutboxKind, type ChainOutboxRow, ChainOutboxRepository } from './chain-outbox.repository';
import type { LedgerSettings } from '../../adapters/config/ledger-settings';
import { activateCluster, chainNodeId, createOffering, IslandFacts, nodeLiveness, registerCluster } from './provider-messages';
import { MsgUpdateNodeMetadata } from '../../adapters/chain/generated/virtengine';
import { type FormedIslands } from '../../core/islands/formed-islands';
import { type IslandMembership } from '../../core/islands/island-membership';

export interface ProviderDaemonOptions {
  settings: Pick<LedgerSettings, 'defaultRegion' | 'offeringIdentityThreshold' | 'offeringMaxRuntimeSeconds'>;
  pricesFor: (island: string) => OfferingPrices;
  denom: string;
  /** Rows leased per drain pass. */
  batchSize?: number;
  maxBackoffSeconds?: number;
}

/** x/hpc's refusal for a node it deregistered (keeper.UpdateNodeMetadata: no transition leaves DEREGISTERED). */
const DEREGISTERED = /invalid state transition from deregistered/;

/** A broadcast row is asked about again after this long. */
const CONFIRM_AFTER_SECONDS = 5;

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
  private readonly logger = new Logger(ProviderDaemon.name);
  private readonly batchSize: number;
  private readonly outbox: ChainOutboxRepository;

  constructor(
    db: DataSource,
    private readonly options: ProviderDaemonOptions,
    private readonly formed: FormedIslands,
    private readonly membership: Pick<IslandMembership, 'activeMembers'>,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.outbox = new ChainOutboxRepository(db, options.maxBackoffSeconds ?? CHAIN_OUTBOX_MAX_BACKOFF_SECONDS);
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
    const clusters = await this.outbox.clusters();
    const { settings } = this.options;
    const planned: Array<{ key: string; kind: ChainOutboxKind; subject: string; message: EncodeObject }> = [];
    for (const island of islands) {
      const clusterId = clusters.get(island.name);
      if (!clusterId) {
        planned.push({
          key: `register:${island.name}`,
          kind: 'register-cluster',
          subject: island.name,
          message: registerCluster(provider, island, settings.defaultRegion),
        });
        continue;
      }
      planned.push({
        key: `activate:${island.name}:${clusterId}`,
        kind: 'activate-cluster',
        subject: island.name,
        message: activateCluster(provider, clusterId),
      });
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
    const generations = await this.outbox.nodeGenerations();
    for (const island of islands) {
      const clusterId = clusters.get(island.name);
      if (!clusterId) continue;
      const onChain = new Map(island.nodes.map((n) => [n.name, chainNodeId(n.name, generations.get(n.id))]));
      for (const node of island.nodes) {
        // The previous round's message, if it never went out, is stale now: this one replaces it.
        await this.outbox.supersedeLiveness(node.id);
        const asOnChain = { ...node, name: onChain.get(node.name)!, latencies: node.latencies.map((l) => ({ ...l, to: onChain.get(l.to) ?? l.to })) };
        added += await this.enqueue(
          `liveness:${node.id}:${now}`,
          'node-liveness',
          node.id,
          nodeLiveness(provider, clusterId, asOnChain, BigInt(now), this.options.settings.defaultRegion),
        );
      }
    }
    return added;
  }

  private async enqueue(key: string, kind: ChainOutboxKind, subject: string, message: EncodeObject): Promise<number> {
    return (await this.outbox.enqueue(key, kind, subject, message)) ? 1 : 0;
  }

  /** One batch of due rows; returns how many moved on (a row told to retry later does not count). */
  async drainOnce(sender: ChainSender): Promise<number> {
    const leased = await this.outbox.lease(this.batchSize);
    if (leased.length === 0) return 0;
    let retried = 0;
    const toSend: ChainOutboxRow[] = [];
    const resolutions = new Map<string, Resolution>();
    for (const row of leased) {
      if (row.status !== 'BROADCAST' || !row.tx_hash) {
        toSend.push(row);
        continue;
      }
      if (!resolutions.has(row.tx_hash)) resolutions.set(row.tx_hash, await sender.resolve(row.tx_hash));
      const resolution = resolutions.get(row.tx_hash)!;
      if (resolution.kind === 'committed') {
        await this.finish(row, {
          kind: 'committed',
          txHash: row.tx_hash,
          responses: row.tx_message_index === null ? [] : resolution.responses.slice(row.tx_message_index, row.tx_message_index + 1),
        });
      } else if (resolution.kind === 'pending') {
        await this.finish(row, { kind: 'broadcast', txHash: row.tx_hash });
      } else if (row.kind === 'node-liveness' && (await this.outbox.hasNewerLiveness(row))) {
        // A newer round exists: this one's sequence would be refused as stale.
        await this.outbox.supersede(row);
      } else {
        toSend.push(row);
      }
    }
    const byId = new Map(toSend.map((row) => [row.id, row]));
    const items = toSend.map((row) => ({
      key: row.id,
      messages: [{ typeUrl: row.type_url, value: virtEngineMessageType(row.type_url).decode(row.value) }],
    }));
    const outcomes = await sender.send(items, (keys, tx) => this.outbox.markBroadcast(keys, tx.hash));
    for (const [id, outcome] of outcomes) {
      if (outcome.kind === 'retry') retried++;
      await this.finish(byId.get(id)!, outcome);
    }
    return leased.length - retried;
  }

  private async finish(row: ChainOutboxRow, outcome: SendOutcome): Promise<void> {
    if (row.kind === 'node-liveness' && outcome.kind === 'rejected' && DEREGISTERED.test(outcome.reason)) await this.reregister(row);
    if (outcome.kind !== 'committed') {
      await this.outbox.settle(row, outcome.kind === 'broadcast' ? { ...outcome, recheckSeconds: CONFIRM_AFTER_SECONDS } : outcome);
      return;
    }
    const response: MsgResponse | undefined = outcome.responses[0];
    if (row.kind !== 'register-cluster') {
      await this.outbox.settle(row, { kind: 'committed', txHash: outcome.txHash }, response?.value ?? null);
      return;
    }
    if (!response) throw new Error(`registration of ${row.subject} committed in ${outcome.txHash} without a response`);
    const { clusterId } = MsgRegisterClusterResponse.decode(response.value);
    await this.outbox.settleRegistration(row, outcome.txHash, response.value, clusterId);
  }

  /**
   * The chain deregistered this node (no heartbeat for over an hour, e.g. while Archipelago was
   * down) and will never take that id again: from the next round it reports under a new one.
   */
  private async reregister(row: ChainOutboxRow): Promise<void> {
    const retired = MsgUpdateNodeMetadata.decode(row.value).nodeId;
    const generation = await this.outbox.nextNodeGeneration(row.subject, retired);
    const name = retired.replace(/-r\d+$/, '');
    this.logger.warn(
      `node ${row.subject}: the chain deregistered its id ${retired} (silent for over an hour) and refuses it for good; it re-registers as ${chainNodeId(name, generation)}`,
    );
  }

  /** ACTIVE islands with their ACTIVE nodes (an island needs at least one) and measured RTTs between members. */
  private async islands(): Promise<IslandFacts[]> {
    const [formed, members] = await Promise.all([this.formed.activeIslands(), this.membership.activeMembers()]);
    const partitions = new Map(formed.map((island) => [island.name, island.partitions]));
    const islands = new Map<string, IslandFacts>();
    for (const { island: name, ...node } of members) {
      if (!partitions.has(name)) continue;
      const island = islands.get(name) ?? { name, partitions: partitions.get(name)!, nodes: [] };
      island.nodes.push(node);
      islands.set(name, island);
    }
    return [...islands.values()];
  }
}
