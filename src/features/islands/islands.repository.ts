import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { Island as TopologyIsland } from '../../core/topology';
import { type FormedIslands } from '../../core/islands/formed-islands';

export type IslandState = 'LAUNCHING' | 'ACTIVE' | 'RETIRING' | 'RETIRED';

export interface IslandRow {
  name: string;
  topology_id: string;
  tier: string;
  bound_ms: number;
  state: IslandState;
  launcher: string;
  slot: number | null;
  anchor: string | null;
  waypoints: string[];
  diameter_ms: number | null;
  measured_diameter_ms: number | null;
  measured_pairs: number;
  inferred_pairs: number;
  within_bound: boolean;
  rest_url: string | null;
  partitions: string[];
  jwt_key_sealed: Buffer | null;
  created_at: Date;
  state_changed_at: Date;
  last_error: string | null;
}

/** An active island with what its members say about it (for placement). */
/** What the grouping says of an island (its topology id is the grouping's own name for it). */
export type IslandShape = Omit<TopologyIsland, 'id' | 'members' | 'kept'> & { topologyId: string };

/** Prefix of the topology id of an island the grouping dropped (it empties out, then retires). */
export const RELEASED = '~';

/** Islands formed by the topology loop (the islands file's are not stored). */
@Injectable()
export class IslandsRepository implements FormedIslands {
  constructor(private readonly db: DataSource) {}

  live(): Promise<IslandRow[]> {
    return rows<IslandRow>(this.db, `SELECT * FROM islands WHERE state <> 'RETIRED' ORDER BY name`);
  }

  active(): Promise<IslandRow[]> {
    return rows<IslandRow>(this.db, `SELECT * FROM islands WHERE state = 'ACTIVE' ORDER BY name`);
  }

  async activeIslands(): Promise<Array<{ name: string; partitions: string[] }>> {
    return (await this.active()).map((row) => ({ name: row.name, partitions: row.partitions }));
  }

  async anyInTransition(): Promise<boolean> {
    const [row] = await rows<{ busy: boolean }>(this.db, `SELECT EXISTS (SELECT 1 FROM islands WHERE state IN ('LAUNCHING', 'RETIRING')) AS busy`);
    return row.busy === true;
  }

  async find(name: string): Promise<IslandRow | null> {
    return (await rows<IslandRow>(this.db, 'SELECT * FROM islands WHERE name = $1', [name]))[0] ?? null;
  }

  /** A new island, named by a number that is never reused (its tier may change: a loose island that tightens is relabelled). */
  async create(namePrefix: string, launcher: string, shape: IslandShape): Promise<IslandRow> {
    const [row] = await rows<IslandRow>(
      this.db,
      `INSERT INTO islands (name, topology_id, tier, bound_ms, launcher, anchor, waypoints, diameter_ms, measured_diameter_ms,
                            measured_pairs, inferred_pairs, within_bound)
       VALUES ($12 || '-' || nextval('island_number'), $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       RETURNING *`,
      [
        shape.tier,
        shape.topologyId,
        shape.boundMs,
        launcher,
        shape.anchor,
        JSON.stringify(shape.waypoints),
        shape.diameterMs,
        shape.measuredDiameterMs,
        shape.measuredPairs,
        shape.inferredPairs,
        shape.withinBound,
        namePrefix,
      ],
    );
    return row;
  }

  async updateShape(name: string, shape: IslandShape): Promise<void> {
    await this.db.query(
      `UPDATE islands SET anchor = $2, waypoints = $3, diameter_ms = $4, measured_diameter_ms = $5, measured_pairs = $6,
                          inferred_pairs = $7, within_bound = $8, tier = $9, bound_ms = $10
        WHERE name = $1`,
      [
        name,
        shape.anchor,
        JSON.stringify(shape.waypoints),
        shape.diameterMs,
        shape.measuredDiameterMs,
        shape.measuredPairs,
        shape.inferredPairs,
        shape.withinBound,
        shape.tier,
        shape.boundMs,
      ],
    );
  }

  /** The grouping no longer has this island: its topology id is free for a new one. */
  async releaseTopologyId(name: string): Promise<void> {
    await this.db.query(`UPDATE islands SET topology_id = $2 || name WHERE name = $1 AND topology_id NOT LIKE $2 || '%'`, [name, RELEASED]);
  }

  async markLaunched(
    name: string,
    launched: { restUrl: string; jwtKeySealed: Buffer; partitions: string[] },
    db: DataSource | EntityManager = this.db,
  ): Promise<void> {
    await db.query(
      `UPDATE islands SET state = 'ACTIVE', rest_url = $2, jwt_key_sealed = $3, partitions = $4, last_error = NULL,
                          state_changed_at = CASE WHEN state = 'ACTIVE' THEN state_changed_at ELSE now() END
        WHERE name = $1 AND state IN ('LAUNCHING', 'ACTIVE')`,
      [name, launched.restUrl, launched.jwtKeySealed, launched.partitions],
    );
  }

  async resealJwtKey(name: string, sealed: Buffer): Promise<void> {
    await this.db.query('UPDATE islands SET jwt_key_sealed = $2 WHERE name = $1', [name, sealed]);
  }

  async setState(name: string, state: IslandState, error: string | null = null, db: DataSource | EntityManager = this.db): Promise<void> {
    await db.query(
      `UPDATE islands SET state = $2, last_error = $3,
                          state_changed_at = CASE WHEN state = $2 THEN state_changed_at ELSE now() END
        WHERE name = $1`,
      [name, state, error],
    );
  }

  async recordError(name: string, error: string): Promise<void> {
    await this.db.query('UPDATE islands SET last_error = $2 WHERE name = $1', [name, error.slice(0, 2000)]);
  }
}
