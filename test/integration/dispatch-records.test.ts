import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { migratedDatabase } from '../support/migrated-database';
import { JobsRepository } from '../../src/features/jobs/jobs.repository';

/**
 * Recording the SLURM ids a dispatch batch got, against PostgreSQL: one statement in the usual
 * case, and the older job released first when an island reset handed out an id again.
 */
describe('dispatch records SLURM ids (PostgreSQL)', () => {
  let db: DataSource;
  let jobs: JobsRepository;
  let owner: string;

  before(async () => {
    ({ db } = await migratedDatabase('archipelago_test_dispatch_records', 4));
    jobs = new JobsRepository(db);
    [{ id: owner }] = await db.query(`INSERT INTO principals (name, kind, slurm_user) VALUES ('records-alice', 'researcher', 'alice') RETURNING id`);
  });
  after(async () => {
    await db?.destroy();
  });

  /** A job in `state`, on `island` under `slurmJobId` when given. */
  async function job(state: string, island: string | null = null, slurmJobId: number | null = null): Promise<string> {
    const [row] = await db.query(
      `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, state, island, slurm_job_id)
       VALUES ($1, 'alice', '\\x00', 'j', '#!/bin/bash\ntrue\n', '{}', '{}', '/home/alice', $2, $3, $4) RETURNING id`,
      [owner, state, island, slurmJobId],
    );
    return String(row.id);
  }

  async function stateOf(id: string): Promise<{ state: string; slurm_job_id: string | null; island: string | null; state_reason: string | null }> {
    const [row] = await db.query('SELECT state, slurm_job_id, island, state_reason FROM jobs WHERE id = $1', [id]);
    return row;
  }

  const submitted = (jobId: string, slurmJobId: number) => ({
    jobId,
    island: 'records-a',
    partition: 'debug',
    slurmJobId,
    placement: { island: 'records-a' },
    defaultOutput: null,
  });

  it('records the batch: each dispatching job becomes PENDING with its SLURM id and an event; others are left alone', async () => {
    const first = await job('DISPATCHING');
    const second = await job('DISPATCHING');
    const cancelled = await job('CANCELLED');
    const recorded = await jobs.recordSubmitted([submitted(first, 101), submitted(second, 102), submitted(cancelled, 103)]);
    assert.deepEqual(recorded.map((row) => row.id).sort(), [first, second].sort());
    assert.deepEqual(await stateOf(first), { state: 'PENDING', slurm_job_id: '101', island: 'records-a', state_reason: null });
    assert.equal((await stateOf(cancelled)).state, 'CANCELLED');
    const events = await db.query(`SELECT job_id::text, from_state, to_state FROM job_events WHERE job_id = ANY($1::bigint[]) ORDER BY job_id`, [
      [first, second, cancelled],
    ]);
    assert.deepEqual(
      events.map((e: { job_id: string; to_state: string }) => [e.job_id, e.to_state]),
      [first, second].sort((a, b) => Number(a) - Number(b)).map((id) => [id, 'PENDING']),
    );
  });

  it('releases an older unfinished job holding the same island and SLURM id (the island was reset) as LOST, then records', async () => {
    const older = await job('RUNNING', 'records-a', 201);
    const unrelated = await job('PENDING', 'records-a', 202);
    const fresh = await job('DISPATCHING');
    const recorded = await jobs.recordSubmitted([submitted(fresh, 201)]);
    assert.deepEqual(
      recorded.map((row) => [row.id, String(row.slurm_job_id)]),
      [[fresh, '201']],
    );
    const lost = await stateOf(older);
    assert.equal(lost.state, 'LOST');
    assert.match(lost.state_reason ?? '', /island was reset/);
    assert.deepEqual(await stateOf(fresh), { state: 'PENDING', slurm_job_id: '201', island: 'records-a', state_reason: null });
    assert.equal((await stateOf(unrelated)).state, 'PENDING', 'a job under another SLURM id is not touched');
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND to_state = 'LOST'`, [older]);
    assert.equal(n, 1);
  });
});
