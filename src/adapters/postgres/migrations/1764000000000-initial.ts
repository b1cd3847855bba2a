import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    // One row naming this control plane: it tags the SLURM jobs we submit, and a new database
    // (a new control plane) must never mistake an older one's jobs for its own.
    await q.query(`
      CREATE TABLE control_plane (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        instance_id text NOT NULL DEFAULT substr(md5(gen_random_uuid()::text), 1, 12),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('INSERT INTO control_plane DEFAULT VALUES');
    await q.query(`
      CREATE TABLE principals (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('researcher', 'provider_admin', 'marketplace', 'platform_admin')),
        slurm_user text CHECK (slurm_user ~ '^[a-z_][a-z0-9_-]{0,31}$' AND slurm_user NOT IN ('root', 'slurm')),
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        prefix text NOT NULL,
        key_hash bytea NOT NULL UNIQUE,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES principals(id),
        slurm_user text NOT NULL,
        idempotency_key text,
        request_hash bytea NOT NULL,
        name text NOT NULL,
        script text NOT NULL,
        spec jsonb NOT NULL,
        environment jsonb NOT NULL,
        working_directory text NOT NULL,
        island text,
        partition text,
        state text NOT NULL,
        state_reason text,
        slurm_job_id bigint,
        array_size integer,
        depends_on bigint[] NOT NULL DEFAULT '{}',
        hold boolean NOT NULL DEFAULT false,
        cancel_requested boolean NOT NULL DEFAULT false,
        dispatch_attempts integer NOT NULL DEFAULT 0,
        dispatch_lease_until timestamptz,
        batch_host text,
        exit_code integer,
        exit_signal integer,
        submitted_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz,
        started_at timestamptz,
        ended_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT jobs_idempotency UNIQUE (owner_id, idempotency_key),
        CONSTRAINT jobs_slurm_identity UNIQUE (island, slurm_job_id)
      )`);
    await q.query(`CREATE INDEX jobs_owner_recent ON jobs (owner_id, id DESC)`);
    await q.query(`CREATE INDEX jobs_unfinished ON jobs (island, id) WHERE ended_at IS NULL`);
    await q.query(`CREATE INDEX jobs_undispatched ON jobs (id) WHERE slurm_job_id IS NULL AND ended_at IS NULL`);
    await q.query(`
      CREATE TABLE job_tasks (
        job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        task_id integer NOT NULL,
        slurm_job_id bigint,
        state text NOT NULL,
        state_reason text,
        nodes text,
        batch_host text,
        exit_code integer,
        exit_signal integer,
        started_at timestamptz,
        ended_at timestamptz,
        PRIMARY KEY (job_id, task_id)
      )`);
    await q.query(`
      CREATE TABLE job_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT now(),
        from_state text,
        to_state text NOT NULL,
        reason text
      )`);
    await q.query(`CREATE INDEX job_events_job ON job_events (job_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE job_events, job_tasks, jobs, api_keys, principals, control_plane');
  }
}
