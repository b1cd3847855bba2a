import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { migratedDatabase } from '../support/migrated-database';
import { OutboxDrainer, DEFAULT_DRAINER_OPTIONS } from '../../src/features/usage/outbox-drainer';
import type { BroadcastJournal, OutboxEntry, ReportOutcome, UsageReporter } from '../../src/core/usage/usage-reporter.port';

const DB_NAME = 'usage_outbox';

/**
 * A reporter double with the behaviour that matters to the outbox: a ledger that counts how often
 * each record was really sent, and knobs for "down", "refuses" and "dies after broadcasting".
 */
class FakeReporter implements UsageReporter {
  readonly sent = new Map<string, number>();
  readonly offered: string[][] = [];
  down = false;
  refuse = new Set<string>();
  crashAfterBroadcast = false;
  private tx = 0;

  async report(entries: OutboxEntry[], journal: BroadcastJournal): Promise<Map<string, ReportOutcome>> {
    this.offered.push(entries.map((e) => e.usageRecordId));
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:26657');
    const outcomes = new Map<string, ReportOutcome>();
    const toSend: OutboxEntry[] = [];
    for (const e of entries) {
      if (e.status === 'BROADCAST') {
        // confirm by hash: the ledger already has it, never send again
        outcomes.set(
          e.usageRecordId,
          this.sent.has(e.usageRecordId) ? { kind: 'committed', txHash: e.txHash! } : { kind: 'retry', reason: 'tx not found yet' },
        );
      } else if (this.refuse.has(e.usageRecordId)) {
        outcomes.set(e.usageRecordId, { kind: 'rejected', reason: 'invalid state transition: COMPLETED -> RUNNING' });
      } else {
        toSend.push(e);
      }
    }
    if (toSend.length > 0) {
      const hash = `TX${++this.tx}`;
      await journal.markBroadcast(
        toSend.map((e) => e.usageRecordId),
        hash,
      );
      for (const e of toSend) this.sent.set(e.usageRecordId, (this.sent.get(e.usageRecordId) ?? 0) + 1);
      if (this.crashAfterBroadcast) throw new Error('process died between broadcast and confirmation');
      for (const e of toSend) outcomes.set(e.usageRecordId, { kind: 'committed', txHash: hash });
    }
    return outcomes;
  }
}

describe('usage outbox drained through a reporter (PostgreSQL)', () => {
  let db: DataSource;
  const now = { quick: { ...DEFAULT_DRAINER_OPTIONS, maxBackoffSeconds: 0, confirmAfterSeconds: 0 } };

  before(async () => {
    ({ db } = await migratedDatabase(DB_NAME, 4));
    await db.query(`INSERT INTO principals (id, name, kind, slurm_user) VALUES ('00000000-0000-0000-0000-000000000001', 'alice', 'researcher', 'alice')`);
  });
  after(async () => {
    await db?.destroy();
  });

  let recordIds: string[] = [];
  beforeEach(async () => {
    await db.query('TRUNCATE usage_rewards, usage_outbox, usage_records, jobs CASCADE');
    recordIds = [];
    for (let i = 1; i <= 5; i++) {
      const [{ id: jobId }] = await db.query(
        `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, island, state, slurm_job_id, ended_at, accounted_at)
         VALUES ('00000000-0000-0000-0000-000000000001', 'alice', '\\x00', 'j', '#!/bin/sh', '{}', '{}', '/tmp', 'acct-a', 'COMPLETED', $1, now(), now()) RETURNING id`,
        [100 + i],
      );
      const [{ id }] = await db.query(
        `INSERT INTO usage_records (job_id, owner_id, island, slurm_job_id, slurm_submit_time, canonical, content_hash, signature,
                                    signature_algorithm, signer_public_key, denom, billed, epoch)
         VALUES ($1, '00000000-0000-0000-0000-000000000001', 'acct-a', $2, 1, '{}', $3, '\\x01', 'ed25519', 'pk', 'uvirt', 10, 1) RETURNING id::text`,
        [jobId, 100 + i, String(i).repeat(64).slice(0, 64)],
      );
      await db.query('INSERT INTO usage_outbox (usage_record_id) VALUES ($1)', [id]);
      recordIds.push(id);
    }
  });

  const statuses = async () =>
    new Map<string, { status: string; last_error: string | null; tx_hash: string | null }>(
      (await db.query('SELECT usage_record_id::text AS id, status, last_error, tx_hash FROM usage_outbox')).map((r: any) => [r.id, r]),
    );

  it('chain down: everything stays in the outbox with the error; back up: all committed, each sent once', async () => {
    const reporter = new FakeReporter();
    reporter.down = true;
    const drainer = new OutboxDrainer(db, reporter, now.quick);
    assert.equal(await drainer.drainOnce(), 5);
    for (const s of (await statuses()).values()) {
      assert.equal(s.status, 'PENDING');
      assert.match(s.last_error ?? '', /ECONNREFUSED/);
    }
    reporter.down = false;
    await drainer.drainOnce();
    for (const s of (await statuses()).values()) assert.equal(s.status, 'COMMITTED');
    for (const id of recordIds) assert.equal(reporter.sent.get(id), 1);
    assert.equal(await drainer.drainOnce(), 0, 'nothing left to offer');
  });

  it('a refusal is kept with the chain reason and never offered again', async () => {
    const reporter = new FakeReporter();
    reporter.refuse.add(recordIds[0]);
    const drainer = new OutboxDrainer(db, reporter, now.quick);
    await drainer.drainOnce();
    const s = (await statuses()).get(recordIds[0])!;
    assert.equal(s.status, 'REJECTED');
    assert.match(s.last_error!, /invalid state transition/);
    assert.equal(await drainer.drainOnce(), 0);
    assert.equal(reporter.sent.has(recordIds[0]), false);
  });

  it('a crash between broadcast and confirmation: confirmed by hash later, never sent twice', async () => {
    const reporter = new FakeReporter();
    reporter.crashAfterBroadcast = true;
    const drainer = new OutboxDrainer(db, reporter, now.quick);
    await drainer.drainOnce();
    for (const s of (await statuses()).values()) {
      assert.equal(s.status, 'BROADCAST');
      assert.equal(s.tx_hash, 'TX1');
    }
    reporter.crashAfterBroadcast = false;
    await drainer.drainOnce();
    for (const s of (await statuses()).values()) assert.equal(s.status, 'COMMITTED');
    for (const id of recordIds) assert.equal(reporter.sent.get(id), 1, `record ${id} sent once`);
  });

  it('two drainers at once never offer the same entry to both', async () => {
    const a = new FakeReporter();
    const b = new FakeReporter();
    const options = { ...now.quick, batchSize: 3 };
    await Promise.all([new OutboxDrainer(db, a, options).drainOnce(), new OutboxDrainer(db, b, options).drainOnce()]);
    const offeredA = a.offered.flat();
    const offeredB = b.offered.flat();
    assert.equal(offeredA.filter((id) => offeredB.includes(id)).length, 0);
    assert.equal(offeredA.length + offeredB.length, 5);
  });
});
