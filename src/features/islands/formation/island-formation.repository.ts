import { Injectable } from '@nestjs/common';
import type { FormationNode } from '../../../core/islands/formation-node';
import { DataSource } from 'typeorm';
import { rows } from '../../../adapters/postgres/sql';

export interface FormationSample {
  from_name: string;
  to_name: string;
  rtt_ms: number | null;
  loss: number;
  measured_at: Date;
}

/** The island-formation loop's reads and writes on nodes and their measurements. */
@Injectable()
export class IslandFormationRepository {
  constructor(private readonly db: DataSource) {}

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
}
