import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { LatencySample, LocalityTags, NodeInventory } from '../../core/nodes/agent-protocol';
import type { NodeState } from '../../core/nodes/node-state';
import { type ActiveMember, type IslandMembership, type MemberProfile } from '../../core/islands/island-membership';
import { type FormationNode, type FormationSample } from '../../core/islands/formation-node';
import { type NodeHeartbeats } from '../../core/common/domain-stats';
import { type NodeFacts, type NodeFactsSource } from '../../core/nodes/node-facts';

export interface NodeRow {
  id: string;
  provider_id: string;
  join_token_id: string | null;
  name: string;
  public_key: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  probe_address: string;
  state: NodeState;
  /** The island the grouping put the node in; `slurm_island` is where SLURM has it now. */
  island: string | null;
  slurm_island: string | null;
  slurm_drained: boolean;
  /** Peers the grouping wants this node to measure (names). */
  requested_probes: string[];
  last_heartbeat_at: Date | null;
  /** bigint: pg hands it over as a string. */
  last_seq: string;
  health: string | null;
  capacity: Record<string, number> | null;
  slurmd_state: string | null;
  created_at: Date;
  state_changed_at: Date;
  drained_reason: string | null;
  deregistered_at: Date | null;
}

export interface NewNode {
  providerId: string;
  tokenId: string;
  namePrefix: string;
  publicKey: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  probeAddress: string;
}

export interface ProbePeer {
  nodeId: string;
  name: string;
  probeAddress: string;
}

export interface SampleRow {
  from_node: string;
  to_node: string;
  rtt_ms: number | null;
  loss: number;
  probes: number;
  measured_at: Date;
}

export interface SilentNode {
  id: string;
  state: NodeState;
  seen_ms: number;
  now_ms: number;
}

export interface Transition {
  id: string;
  from: NodeState;
  to: NodeState;
  /** The silence that justifies `to`: re-checked in the UPDATE, so a heartbeat that just arrived wins. */
  silentSeconds: number;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class NodesRepository implements IslandMembership, NodeHeartbeats, NodeFactsSource {
  constructor(private readonly db: DataSource) {}

  /**
   * Inserts a node named `<prefix>-<n>` (the next free n for that prefix; joins with the same
   * prefix are serialised by an advisory lock for the rest of the transaction). 'key-taken' when
   * another node already has this public key.
   */
  async insert(m: EntityManager, node: NewNode): Promise<NodeRow | 'key-taken'> {
    const [taken] = await rows(m, 'SELECT id FROM nodes WHERE public_key = $1', [node.publicKey]);
    if (taken) return 'key-taken';
    await rows(m, `SELECT pg_advisory_xact_lock(hashtext('archipelago-node-name:' || $1))`, [node.namePrefix]);
    const [{ next }] = await rows<{ next: number }>(
      m,
      `SELECT coalesce(max(substring(name FROM '[0-9]+$')::int), 0) + 1 AS next
         FROM nodes WHERE name ~ ('^' || $1 || '-[0-9]+$')`,
      [node.namePrefix],
    );
    try {
      const [row] = await rows<NodeRow>(
        m,
        `INSERT INTO nodes (provider_id, join_token_id, name, public_key, inventory, tags, probe_address, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING') RETURNING *`,
        [node.providerId, node.tokenId, `${node.namePrefix}-${next}`, node.publicKey, node.inventory, node.tags, node.probeAddress],
      );
      return row;
    } catch (error) {
      const failure = error as { code?: string; constraint?: string };
      if (failure.code === UNIQUE_VIOLATION && failure.constraint === 'nodes_public_key_key') return 'key-taken';
      throw error;
    }
  }

  async findById(id: string): Promise<NodeRow | null> {
    const [row] = await rows<NodeRow>(this.db, 'SELECT * FROM nodes WHERE id = $1', [id]);
    return row ?? null;
  }

  /** A node the caller may see: any for a platform admin (providerId null), else only its own. */
  async findVisible(id: string, providerId: string | null): Promise<NodeRow | null> {
    const [row] = await rows<NodeRow>(this.db, 'SELECT * FROM nodes WHERE id = $1 AND ($2::uuid IS NULL OR provider_id = $2)', [id, providerId]);
    return row ?? null;
  }

  async findManyVisible(ids: string[], providerId: string | null): Promise<NodeRow[]> {
    return rows<NodeRow>(this.db, 'SELECT * FROM nodes WHERE id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR provider_id = $2) ORDER BY name', [ids, providerId]);
  }

  async list(filter: { providerId: string | null; states?: string[]; afterName?: string; limit: number }): Promise<NodeRow[]> {
    return rows<NodeRow>(
      this.db,
      `SELECT * FROM nodes
        WHERE ($1::uuid IS NULL OR provider_id = $1)
          AND ($2::text[] IS NULL OR state = ANY($2))
          AND ($3::text IS NULL OR name > $3)
        ORDER BY name LIMIT $4`,
      [filter.providerId, filter.states ?? null, filter.afterName ?? null, filter.limit],
    );
  }

  /**
   * Records an accepted heartbeat, atomically: only if its seq is after the stored one and the
   * node is still in the state the caller decided from. Null when either no longer holds.
   */
  async recordHeartbeat(
    id: string,
    seq: number,
    expected: NodeState,
    next: NodeState,
    report: { capacity: Record<string, number>; health: string; slurmdState: string },
  ): Promise<NodeRow | null> {
    const [row] = await rows<NodeRow>(
      this.db,
      `UPDATE nodes SET last_seq = $2, last_heartbeat_at = now(), capacity = $5, health = $6, slurmd_state = $7,
              state = $4, state_changed_at = CASE WHEN state = $4 THEN state_changed_at ELSE now() END
        WHERE id = $1 AND last_seq < $2 AND state = $3
        RETURNING *`,
      [id, seq, expected, next, report.capacity, report.health, report.slurmdState],
    );
    return row ?? null;
  }

  /** Takes `seq` for a message other than a heartbeat; false when it is not after the stored one. */
  async advanceSeq(id: string, seq: number): Promise<boolean> {
    const updated = await rows(this.db, `UPDATE nodes SET last_seq = $2 WHERE id = $1 AND last_seq < $2 AND state <> 'DEREGISTERED' RETURNING id`, [id, seq]);
    return updated.length > 0;
  }

  /** An admin's state change, only from the state it was decided from. */
  async changeState(
    id: string,
    from: NodeState,
    to: NodeState,
    drainedReason: string | null,
    db: DataSource | EntityManager = this.db,
  ): Promise<NodeRow | null> {
    const [row] = await rows<NodeRow>(
      db,
      `UPDATE nodes SET state = $3, drained_reason = $4,
              state_changed_at = CASE WHEN state = $3 THEN state_changed_at ELSE now() END,
              deregistered_at = CASE WHEN $3 = 'DEREGISTERED' THEN now() ELSE deregistered_at END
        WHERE id = $1 AND state = $2
        RETURNING *`,
      [id, from, to, drainedReason],
    );
    return row ?? null;
  }

  /**
   * Whom a node should measure: active nodes other than itself, those the island grouping asked
   * for first (pairs it could only infer), then those sharing its region and zone, then those it has never measured, then those it measured longest ago.
   */
  async probePeers(node: NodeRow, limit: number): Promise<ProbePeer[]> {
    if (limit === 0) return [];
    return rows<ProbePeer>(
      this.db,
      `SELECT n.id AS "nodeId", n.name, n.probe_address AS "probeAddress"
         FROM nodes n
         LEFT JOIN latency_samples s ON s.from_node = $1 AND s.to_node = n.id
        WHERE n.state = 'ACTIVE' AND n.id <> $1
        ORDER BY (n.name = ANY($5::text[])) DESC,
                 (n.tags->>'region' IS NOT DISTINCT FROM $2::text) DESC,
                 (n.tags->>'zone' IS NOT DISTINCT FROM $3::text) DESC,
                 s.measured_at ASC NULLS FIRST, n.id
        LIMIT $4`,
      [node.id, node.tags.region ?? null, node.tags.zone ?? null, limit, node.requested_probes],
    );
  }

  /** Stores the samples whose peer is a known, registered node; returns the peers it stored. */
  async upsertSamples(fromNode: string, samples: LatencySample[]): Promise<string[]> {
    if (samples.length === 0) return [];
    const stored = await rows<{ to_node: string }>(
      this.db,
      `INSERT INTO latency_samples (from_node, to_node, rtt_ms, loss, probes, measured_at)
       SELECT $1, t.peer, t.rtt, t.loss, t.probes, now()
         FROM unnest($2::uuid[], $3::float8[], $4::float8[], $5::int[]) AS t(peer, rtt, loss, probes)
         JOIN nodes n ON n.id = t.peer AND n.state <> 'DEREGISTERED'
        WHERE t.peer <> $1
       ON CONFLICT (from_node, to_node) DO UPDATE
         SET rtt_ms = EXCLUDED.rtt_ms, loss = EXCLUDED.loss, probes = EXCLUDED.probes, measured_at = EXCLUDED.measured_at
       RETURNING to_node`,
      [fromNode, samples.map((s) => s.peer.toLowerCase()), samples.map((s) => s.rttMs), samples.map((s) => s.loss), samples.map((s) => s.probes)],
    );
    return stored.map((row) => row.to_node);
  }

  /** Samples between the given nodes (both ends in the set). */
  async samplesAmong(ids: string[]): Promise<SampleRow[]> {
    return rows<SampleRow>(
      this.db,
      `SELECT from_node, to_node, rtt_ms, loss, probes, measured_at FROM latency_samples
        WHERE from_node = ANY($1::uuid[]) AND to_node = ANY($1::uuid[])
        ORDER BY from_node, to_node`,
      [ids],
    );
  }

  /**
   * Nodes silent long enough that their next step down might be due (a pre-filter; the decision is
   * livenessTransition's). Times come from PostgreSQL's clock, the one heartbeats are stamped with.
   */
  async silent(t: { staleSeconds: number; offlineSeconds: number; deregisterSeconds: number }, limit: number): Promise<SilentNode[]> {
    return rows<SilentNode>(
      this.db,
      `SELECT id, state,
              (extract(epoch FROM coalesce(last_heartbeat_at, created_at)) * 1000)::float8 AS seen_ms,
              (extract(epoch FROM now()) * 1000)::float8 AS now_ms
         FROM nodes
        WHERE state <> 'DEREGISTERED'
          AND coalesce(last_heartbeat_at, created_at) <= now() - make_interval(secs => $1::float8)
          AND (state IN ('PENDING', 'ACTIVE', 'DRAINING')
               OR (state = 'STALE' AND coalesce(last_heartbeat_at, created_at) <= now() - make_interval(secs => $2::float8))
               OR (state = 'OFFLINE' AND coalesce(last_heartbeat_at, created_at) <= now() - make_interval(secs => $3::float8)))
        ORDER BY coalesce(last_heartbeat_at, created_at), id
        LIMIT $4`,
      [t.staleSeconds, t.offlineSeconds, t.deregisterSeconds, limit],
    );
  }

  /** Applies the sweeper's decisions; each only if the node is still in `from` and still that silent. */
  async applyTransitions(transitions: Transition[]): Promise<Array<{ id: string; name: string; state: NodeState }>> {
    if (transitions.length === 0) return [];
    return rows<{ id: string; name: string; state: NodeState }>(
      this.db,
      `UPDATE nodes n
          SET state = t.to_state, state_changed_at = now(),
              deregistered_at = CASE WHEN t.to_state = 'DEREGISTERED' THEN now() ELSE n.deregistered_at END
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[]) AS t(id, from_state, to_state, silent_seconds)
        WHERE n.id = t.id AND n.state = t.from_state
          AND coalesce(n.last_heartbeat_at, n.created_at) <= now() - make_interval(secs => t.silent_seconds)
        RETURNING n.id, n.name, n.state`,
      [transitions.map((t) => t.id), transitions.map((t) => t.from), transitions.map((t) => t.to), transitions.map((t) => t.silentSeconds)],
    );
  }

  // Island membership (core/islands/island-membership.ts), for the formation loop.

  /** Every node that is, or may still be, in some island's SLURM. */
  nodes(): Promise<FormationNode[]> {
    return rows<FormationNode>(
      this.db,
      `SELECT id, name, state, island, slurm_island, slurm_drained, tags, inventory FROM nodes
        WHERE state <> 'DEREGISTERED' OR slurm_island IS NOT NULL
        ORDER BY name`,
    );
  }

  samples(nodeIds: string[], maxAgeSeconds: number): Promise<FormationSample[]> {
    return rows<FormationSample>(
      this.db,
      `SELECT a.name AS from_name, b.name AS to_name, s.rtt_ms, s.loss, s.measured_at
         FROM latency_samples s JOIN nodes a ON a.id = s.from_node JOIN nodes b ON b.id = s.to_node
        WHERE s.from_node = ANY($1::uuid[]) AND s.to_node = ANY($1::uuid[])
          AND s.measured_at > now() - make_interval(secs => $2)`,
      [nodeIds, maxAgeSeconds],
    );
  }

  /** Where the grouping wants each node (names absent from `desired` want no island). */
  async setDesired(desired: Map<string, string>): Promise<void> {
    await this.db.query(
      `UPDATE nodes n SET island = d.island
         FROM (SELECT n2.name, t.island FROM nodes n2 LEFT JOIN unnest($1::text[], $2::text[]) AS t(name, island) ON t.name = n2.name) d
        WHERE d.name = n.name AND n.island IS DISTINCT FROM d.island`,
      [[...desired.keys()], [...desired.values()]],
    );
  }

  async setRequestedProbes(requests: Map<string, string[]>): Promise<void> {
    await this.db.query(
      `UPDATE nodes n SET requested_probes = coalesce(t.peers, '{}')
         FROM nodes n2 LEFT JOIN (SELECT * FROM jsonb_each($1::jsonb)) AS r(name, peers_json) ON r.name = n2.name
         CROSS JOIN LATERAL (SELECT array(SELECT jsonb_array_elements_text(r.peers_json)) AS peers) t
        WHERE n2.id = n.id AND n.requested_probes IS DISTINCT FROM coalesce(t.peers, '{}')`,
      [JSON.stringify(Object.fromEntries(requests))],
    );
  }

  async recordSlurm(name: string, slurmIsland: string | null, drained: boolean): Promise<void> {
    await this.db.query('UPDATE nodes SET slurm_island = $2, slurm_drained = $3 WHERE name = $1', [name, slurmIsland, drained]);
  }

  // Named query for metrics (core/common/domain-stats.ts).
  async heartbeatAges(): Promise<Array<{ name: string; island: string; state: string; ageSeconds: number | null }>> {
    const found = await rows<{ name: string; island: string; state: string; age: number | null }>(
      this.db,
      `SELECT name, coalesce(island, '') AS island, state, extract(epoch FROM now() - coalesce(last_heartbeat_at, created_at))::float8 AS age
         FROM nodes WHERE state <> 'DEREGISTERED'`,
    );
    return found.map((r) => ({ name: r.name, island: r.island, state: r.state, ageSeconds: r.age }));
  }

  async changing(): Promise<boolean> {
    const [row] = await this.db.query(`SELECT EXISTS (SELECT 1 FROM nodes WHERE state <> 'DEREGISTERED' AND island IS DISTINCT FROM slurm_island) AS changing`);
    return row.changing === true;
  }

  // Named query for usage accounting (core/nodes/node-facts.ts).
  nodeFacts(names: string[]): Promise<NodeFacts[]> {
    if (names.length === 0) return Promise.resolve([]);
    return rows<NodeFacts>(this.db, `SELECT name, provider_id, benchmark_score, inventory->'gpus'->0->>'model' AS gpu_model FROM nodes WHERE name = ANY($1)`, [
      names,
    ]);
  }

  async membersByIsland(): Promise<Map<string, string[]>> {
    const found = await rows<{ island: string; names: string[] }>(
      this.db,
      'SELECT island, array_agg(name ORDER BY name) AS names FROM nodes WHERE island IS NOT NULL GROUP BY island',
    );
    return new Map(found.map((row) => [row.island, row.names]));
  }

  async memberProfiles(): Promise<Map<string, MemberProfile>> {
    const found = await rows<{ island: string; regions: string[]; providers: string[]; all_high: boolean | null }>(
      this.db,
      `SELECT island,
              coalesce(array_agg(DISTINCT tags->>'region') FILTER (WHERE tags->>'region' IS NOT NULL), '{}') AS regions,
              coalesce(array_agg(DISTINCT tags->>'providerGroup') FILTER (WHERE tags->>'providerGroup' IS NOT NULL), '{}') AS providers,
              bool_and(inventory->>'performance' = 'high') AS all_high
         FROM nodes WHERE island IS NOT NULL GROUP BY island`,
    );
    return new Map(found.map((r) => [r.island, { regions: r.regions, providers: r.providers, allHigh: r.all_high }]));
  }

  async activeMembers(): Promise<ActiveMember[]> {
    const [members, samples] = await Promise.all([
      rows<Omit<ActiveMember, 'latencies'>>(
        this.db,
        `SELECT island, id::text, name, inventory, tags FROM nodes WHERE island IS NOT NULL AND state = 'ACTIVE' ORDER BY island, name`,
      ),
      rows<{ from_node: string; to_name: string; rtt_ms: number; measured_at: Date }>(
        this.db,
        `SELECT s.from_node::text, t.name AS to_name, s.rtt_ms, s.measured_at
           FROM latency_samples s JOIN nodes f ON f.id = s.from_node JOIN nodes t ON t.id = s.to_node
          WHERE f.island IS NOT NULL AND f.island = t.island AND s.rtt_ms IS NOT NULL ORDER BY t.name`,
      ),
    ]);
    const latencies = new Map<string, ActiveMember['latencies']>();
    for (const s of samples) latencies.set(s.from_node, [...(latencies.get(s.from_node) ?? []), { to: s.to_name, rttMs: s.rtt_ms, measuredAt: s.measured_at }]);
    return members.map((m) => ({ ...m, latencies: latencies.get(m.id) ?? [] }));
  }
}
