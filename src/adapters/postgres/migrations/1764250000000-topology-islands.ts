import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Islands the topology loop formed from measured latency, each launched as its own SLURM cluster.
 * Islands configured in the islands file are not here: they exist before and without the database.
 * `nodes.island` is where the topology wants a node; `nodes.slurm_island` is where SLURM has it now,
 * so a crash between the two is finished by the next pass instead of forgotten.
 */
export class TopologyIslands1764250000000 implements MigrationInterface {
  name = 'TopologyIslands1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE islands (
        name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$'),
        topology_id text NOT NULL,
        tier text NOT NULL,
        bound_ms double precision NOT NULL CHECK (bound_ms > 0),
        state text NOT NULL DEFAULT 'LAUNCHING' CHECK (state IN ('LAUNCHING', 'ACTIVE', 'RETIRING', 'RETIRED')),
        launcher text NOT NULL,
        slot integer,
        anchor text,
        waypoints jsonb NOT NULL DEFAULT '[]',
        diameter_ms double precision,
        measured_diameter_ms double precision,
        measured_pairs integer NOT NULL DEFAULT 0,
        inferred_pairs integer NOT NULL DEFAULT 0,
        within_bound boolean NOT NULL DEFAULT true,
        rest_url text,
        partitions text[] NOT NULL DEFAULT '{}',
        jwt_key_sealed bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        state_changed_at timestamptz NOT NULL DEFAULT now(),
        last_error text
      )`);
    // A topology id names one island of the current grouping; islands dropped from it are renamed away.
    await q.query(`CREATE UNIQUE INDEX islands_live_topology_id ON islands (topology_id) WHERE state <> 'RETIRED'`);
    await q.query(`CREATE UNIQUE INDEX islands_live_slot ON islands (launcher, slot) WHERE state <> 'RETIRED' AND slot IS NOT NULL`);
    await q.query('CREATE SEQUENCE island_number');
    // The nodes a job ran on (SLURM's hostlist), to show like squeue's NODELIST and to check island membership.
    await q.query('ALTER TABLE jobs ADD COLUMN nodes text');
    await q.query(
      `ALTER TABLE nodes ADD COLUMN slurm_island text, ADD COLUMN slurm_drained boolean NOT NULL DEFAULT false, ADD COLUMN requested_probes text[] NOT NULL DEFAULT '{}'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jobs DROP COLUMN nodes');
    await q.query('ALTER TABLE nodes DROP COLUMN slurm_island, DROP COLUMN slurm_drained, DROP COLUMN requested_probes');
    await q.query('DROP SEQUENCE island_number');
    await q.query('DROP TABLE islands');
  }
}
