import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../src/adapters/config/config';
import type { IslandDirectory, Island } from '../../src/adapters/slurm/island-directory';
import { LISTING_DUTY_CYCLE, type ListingPace } from '../../src/core/dispatch/listing-pace';
import type { SlurmJobSnapshot } from '../../src/core/slurm/slurm-client.port';
import { DispatchActivity } from '../../src/features/jobs/dispatch/dispatch-activity';
import { FollowService } from '../../src/features/jobs/dispatch/follow.service';
import type { JobsRepository } from '../../src/features/jobs/jobs.repository';
import { migratedDatabase } from '../support/migrated-database';

const ISLAND = 'pace-a';

/**
 * An island that cannot be asked by id (as 22.05's slurmrestd), with a listing that takes `listMs` and
 * then answers or fails; or, `byId`, one that answers states by id (knowing none of the ids).
 */
function listingIsland(behaviour: { listMs: number; fails: boolean; byId?: boolean }) {
  const calls = { listings: 0, statesAsked: 0 };
  const slurm = {
    jobStates: async (ids: number[]) => {
      if (!behaviour.byId) return null;
      calls.statesAsked += ids.length;
      return [];
    },
    listJobs: async (): Promise<SlurmJobSnapshot> => {
      calls.listings++;
      await sleep(behaviour.listMs);
      if (behaviour.fails) throw new Error('listing timed out');
      return { asOf: { seconds: Math.floor(Date.now() / 1000) }, jobs: [] } as unknown as SlurmJobSnapshot;
    },
  };
  const island = { settings: { connection: { name: ISLAND } }, slurm } as unknown as Island;
  const directory = { all: () => [island], get: (name: string) => (name === ISLAND ? island : undefined) } as unknown as IslandDirectory;
  return { directory, calls };
}

/** Writing a tick's changes takes `writeMs` and then fails. */
function failingWrites(writeMs: number): JobsRepository {
  return {
    transitionMany: async () => {
      await sleep(writeMs);
      throw new Error('connection lost while writing');
    },
    refreshSplitParents: async () => undefined,
  } as unknown as JobsRepository;
}

const config = {
  instanceId: 'pace',
  tagKey: { key: Buffer.alloc(32, 1), createdAt: new Date(0) },
  follow: { intervalMs: 1000, lostAfterSeconds: 3600 },
} as unknown as AppConfig;

/**
 * One tick of a FollowService over `directory` (its timer is not started), `setUp` applied to the
 * follower's pace first, `activity` telling it of submissions; the pace after the tick.
 */
async function followOnce(
  db: DataSource,
  directory: IslandDirectory,
  writes: JobsRepository,
  { activity = new DispatchActivity(), setUp = () => undefined }: { activity?: DispatchActivity; setUp?: (pace: ListingPace) => void } = {},
): Promise<ListingPace> {
  const service = new FollowService(db, writes, activity, directory, config);
  const internals = service as unknown as { currentFollowers(): ListingPace[]; followIsland(f: ListingPace): Promise<void> };
  try {
    const [follower] = internals.currentFollowers();
    setUp(follower);
    await internals.followIsland(follower);
    return follower;
  } finally {
    await service.onApplicationShutdown();
  }
}

/**
 * The follower paces its reads of an island by what reading costs (listing-pace.ts): only the
 * read's own length counts, answered or failed, and a failure outside it leaves the pace alone; an
 * island that can only be listed whole waits longer during a dispatch burst.
 */
describe('follower pace (PostgreSQL)', () => {
  let db: DataSource;

  before(async () => {
    ({ db } = await migratedDatabase('archipelago_test_follow_pace', 4));
    const [{ id: owner }] = await db.query(`INSERT INTO principals (name, kind, slurm_user) VALUES ('pace-alice', 'researcher', 'alice') RETURNING id`);
    await db.query(
      `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, state, island, slurm_job_id, dispatched_at)
       VALUES ($1, 'alice', '\\x00', 'j', '#!/bin/bash\ntrue\n', '{}', '{}', '/home/alice', 'PENDING', $2, 101, now())`,
      [owner, ISLAND],
    );
  });
  after(async () => {
    await db?.destroy();
  });

  it('a listing that fails paces the next read by its length: a timed-out listing is not asked for again at once', async () => {
    const { directory, calls } = listingIsland({ listMs: 150, fails: true });
    const before = Date.now();
    const pace = await followOnce(db, directory, failingWrites(0));
    assert.equal(calls.listings, 1);
    assert.ok(pace.lastReadMs >= 150 && pace.lastReadMs < 1000, `lastReadMs ${pace.lastReadMs}`);
    assert.ok(pace.notBefore >= before + 150 / LISTING_DUTY_CYCLE, `next read ${pace.notBefore - before} ms after the tick began`);
  });

  it('a failure after the listing (writing the changes) paces by the listing alone', async () => {
    const { directory, calls } = listingIsland({ listMs: 0, fails: false });
    const before = Date.now();
    const pace = await followOnce(db, directory, failingWrites(400));
    assert.equal(calls.listings, 1);
    // The 400 ms write is not a read: counted as one, it would hold reads back for 1.6 s and through bursts.
    assert.ok(pace.lastReadMs < 200, `lastReadMs ${pace.lastReadMs}`);
    assert.ok(pace.notBefore < before + 800, `next read ${pace.notBefore - before} ms after the tick began`);
  });

  it('an island listed whole is not listed during a dispatch burst, even before its first read showed it cannot be asked by id', async () => {
    const cases = [
      { byId: false, expect: { listings: 0, statesAsked: 0 } },
      { byId: true, expect: { listings: 0, statesAsked: 1 } },
    ];
    for (const { byId, expect } of cases) {
      const { directory, calls } = listingIsland({ listMs: 0, fails: false, byId });
      const activity = new DispatchActivity();
      activity.submitted(ISLAND);
      // 6 s into a burst: past the wait for reads by id, within the wait for listings
      await followOnce(db, directory, failingWrites(0), { activity, setUp: (pace) => (pace.listedAt = Date.now() - 6000) });
      assert.deepEqual(calls, expect, byId ? 'states by id are read' : 'no listing');
    }
  });

  it('a failure before reading (PostgreSQL gone) leaves the pace as it was', async () => {
    const { db: closed } = await migratedDatabase('archipelago_test_follow_pace_closed', 2);
    await closed.destroy();
    const { directory, calls } = listingIsland({ listMs: 0, fails: false });
    const pace = await followOnce(closed, directory, failingWrites(0));
    assert.equal(calls.listings, 0);
    assert.deepEqual({ notBefore: pace.notBefore, lastReadMs: pace.lastReadMs }, { notBefore: 0, lastReadMs: 0 });
  });
});
