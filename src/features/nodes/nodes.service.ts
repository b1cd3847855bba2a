import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { principalActor } from '../../core/audit/audit-trail';
import type { Principal } from '../../core/auth/principal';
import { conflict, invalid, notFound } from '../../core/common/problem';
import { NodeState, stateAfterDrain, stateAfterResume } from '../../core/nodes/node-state';
import { nodeView, sampleView } from './node-view';
import { NodeRow, NodesRepository } from './nodes.repository';
import { providerAccess } from './provider-access';
import { transaction } from '../../adapters/postgres/transactions';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_MATRIX_NODES = 200;

/** The admin side of nodes: provider admins see and manage their own, platform admins everyone's. */
@Injectable()
export class NodesService {
  private readonly logger = new Logger(NodesService.name);

  constructor(
    private readonly db: DataSource,
    private readonly nodes: NodesRepository,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
  ) {}

  async list(principal: Principal, query: { state?: string; providerId?: string; after?: string; limit: number }) {
    const own = providerAccess(principal);
    if (own !== null && query.providerId && query.providerId !== own) return { items: [], nextAfter: null };
    const found = await this.nodes.list({
      providerId: own ?? query.providerId ?? null,
      states: query.state?.split(','),
      afterName: query.after,
      limit: query.limit + 1,
    });
    const page = found.slice(0, query.limit);
    return { items: page.map(nodeView), nextAfter: found.length > query.limit ? page[page.length - 1].name : null };
  }

  async get(principal: Principal, id: string) {
    return nodeView(await this.visible(principal, id));
  }

  async drain(principal: Principal, id: string, reason: string) {
    const node = await this.change(principal, id, 'drain', stateAfterDrain, () => reason);
    this.logger.log(`node ${node.name} drained by ${principal.name}: ${reason}`);
    return nodeView(node);
  }

  async resume(principal: Principal, id: string) {
    return nodeView(await this.change(principal, id, 'resume', stateAfterResume, () => null));
  }

  /** Deregistering is final and idempotent; the agent's next message is answered 410. */
  async deregister(principal: Principal, id: string) {
    const node = await this.visible(principal, id);
    if (node.state === 'DEREGISTERED') return nodeView(node);
    const done = await this.change(
      principal,
      id,
      'deregister',
      () => 'DEREGISTERED',
      (row) => row.drained_reason,
    );
    this.logger.log(`node ${done.name} deregistered by ${principal.name}`);
    return nodeView(done);
  }

  /**
   * Latency samples among the given nodes (default: every registered node the caller sees, up to
   * 200), as a list and as a matrix of RTTs (row: measured from, column: measured to).
   */
  async latency(principal: Principal, nodesParam: string | undefined) {
    const own = providerAccess(principal);
    let nodes: NodeRow[];
    if (nodesParam) {
      const ids = [...new Set(nodesParam.split(',').map((id) => id.trim().toLowerCase()))];
      if (ids.length > MAX_MATRIX_NODES) throw invalid('nodes', `at most ${MAX_MATRIX_NODES} node ids`);
      const bad = ids.find((id) => !UUID.test(id));
      if (bad !== undefined) throw invalid('nodes', `"${bad}" is not a node id`);
      nodes = await this.nodes.findManyVisible(ids, own);
      const missing = ids.find((id) => !nodes.some((n) => n.id === id));
      if (missing) throw notFound(`node ${missing}`);
    } else {
      nodes = await this.nodes.list({
        providerId: own,
        states: ['PENDING', 'ACTIVE', 'DRAINING', 'STALE', 'OFFLINE'],
        limit: MAX_MATRIX_NODES,
      });
    }
    const samples = await this.nodes.samplesAmong(nodes.map((n) => n.id));
    const index = new Map(nodes.map((n, i) => [n.id, i]));
    const matrix: Array<Array<number | null>> = nodes.map(() => nodes.map(() => null));
    for (const s of samples) matrix[index.get(s.from_node)!][index.get(s.to_node)!] = s.rtt_ms;
    return {
      nodes: nodes.map((n) => ({ id: n.id, name: n.name, state: n.state })),
      samples: samples.map(sampleView),
      matrix,
    };
  }

  private async visible(principal: Principal, id: string): Promise<NodeRow> {
    const own = providerAccess(principal);
    const node = UUID.test(id) ? await this.nodes.findVisible(id.toLowerCase(), own) : null;
    if (!node) throw notFound(`node ${id}`);
    return node;
  }

  private async change(
    principal: Principal,
    id: string,
    action: 'drain' | 'resume' | 'deregister',
    decide: (state: NodeState) => NodeState | null,
    reason: (row: NodeRow) => string | null,
  ): Promise<NodeRow> {
    let node = await this.visible(principal, id);
    for (let attempt = 0; attempt < 5; attempt++) {
      const next = decide(node.state);
      if (!next) throw conflict(`node ${node.name} is ${node.state}; it cannot ${action}`);
      const from = node;
      const changed = await transaction(this.db, async (m) => {
        const row = await this.nodes.changeState(from.id, from.state, next, reason(from), m);
        if (row) {
          const { actor, details } = principalActor(principal);
          await this.audit.record({
            actor,
            action: `node.${action}`,
            target: `node:${row.id}`,
            details: { ...details, name: row.name, from: from.state, to: row.state, reason: row.drained_reason },
          });
        }
        return row;
      });
      if (changed) return changed;
      node = await this.visible(principal, id);
    }
    throw conflict(`node ${node.name} kept changing state; try again`);
  }
}
