import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../src/core/common/group-commit';
import { matchInserted } from '../../src/core/jobs/match-inserted';

/** A statement runner whose calls finish only when the test says so. */
function gatedRunner() {
  const calls: Array<{ items: number[]; finish: (error?: Error) => void }> = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, finish: (error) => (error ? reject(error) : resolve(items.map((i) => `row${i}`))) });
    });
  return { calls, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit: submissions arriving together share one statement', () => {
  it('sends a lone item at once, and queues the ones that arrive while statements are in flight', async () => {
    const { calls, run } = gatedRunner();
    const group = new GroupCommit(run, { maxBatch: 3, maxInFlight: 1, failsEveryItem: () => false });
    const first = group.submit(1);
    await tick();
    assert.deepEqual(
      calls.map((c) => c.items),
      [[1]],
      'no waiting when nothing is in flight',
    );
    const rest = [2, 3, 4, 5].map((i) => group.submit(i));
    await tick();
    assert.equal(calls.length, 1, 'nothing else starts while the slot is taken');
    calls[0].finish();
    assert.equal(await first, 'row1');
    await tick();
    assert.deepEqual(
      calls.map((c) => c.items),
      [[1], [2, 3, 4]],
      'the queued items go together, up to maxBatch',
    );
    calls[1].finish();
    await tick();
    assert.deepEqual(calls[2].items, [5]);
    calls[2].finish();
    assert.deepEqual(await Promise.all(rest), ['row2', 'row3', 'row4', 'row5'], 'each caller gets its own result');
  });

  it('runs up to maxInFlight statements at once', async () => {
    const { calls, run } = gatedRunner();
    const group = new GroupCommit(run, { maxBatch: 10, maxInFlight: 2, failsEveryItem: () => false });
    const all = [1, 2, 3, 4].map((i) => group.submit(i));
    await tick();
    assert.deepEqual(
      calls.map((c) => c.items),
      [[1], [2]],
      'two statements run; 3 and 4 wait for a slot',
    );
    calls[1].finish();
    await tick();
    assert.deepEqual(
      calls.map((c) => c.items),
      [[1], [2], [3, 4]],
      'the first free slot takes both',
    );
    calls[0].finish();
    calls[2].finish();
    assert.deepEqual(await Promise.all(all), ['row1', 'row2', 'row3', 'row4']);
  });

  it('retries a failed batch item by item, so one bad item fails alone', async () => {
    const seen: number[][] = [];
    const group = new GroupCommit(
      async (items: number[]) => {
        seen.push(items);
        if (items.includes(13)) throw new Error('violates a check constraint');
        return items.map((i) => i * 10);
      },
      { maxBatch: 10, maxInFlight: 1, failsEveryItem: () => false },
    );
    const lone = group.submit(0);
    const batch = [11, 12, 13, 14].map((i) =>
      group.submit(i).then(
        (v) => ({ ok: v }),
        (e: Error) => ({ error: e.message }),
      ),
    );
    await lone;
    assert.deepEqual(await Promise.all(batch), [{ ok: 110 }, { ok: 120 }, { error: 'violates a check constraint' }, { ok: 140 }]);
    assert.deepEqual(seen, [[0], [11, 12, 13, 14], [11], [12], [13], [14]]);
  });

  it('fails every item at once when the database itself is the problem', async () => {
    let calls = 0;
    const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const group = new GroupCommit(
      async () => {
        calls++;
        throw outage;
      },
      { maxBatch: 10, maxInFlight: 1, failsEveryItem: (e) => (e as { code?: string }).code === 'ECONNREFUSED' },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => group.submit(i)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.equal(calls, 2, 'the lone first item, then one batch: no item-by-item retries against an outage');
  });

  it('refuses a runner that answers with the wrong number of results', async () => {
    const group = new GroupCommit(async () => ['only one'], { maxBatch: 10, maxInFlight: 1, failsEveryItem: () => true });
    const lone = group.submit(1);
    const pair = Promise.allSettled([group.submit(2), group.submit(3)]);
    assert.equal(await lone, 'only one', 'one item, one result: fine');
    const [a, b] = await pair;
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected');
    assert.match(String((a as PromiseRejectedResult).reason), /1 results for 2 items/);
  });
});

describe('matchInserted: each submission gets its own row back', () => {
  const hash = (s: string) => Buffer.from(s);
  const row = (id: string, owner: string, key: string | null, h: string) => ({ id, owner_id: owner, idempotency_key: key, request_hash: hash(h) });

  it('matches by owner, key and request hash whatever order RETURNING used', () => {
    const inputs = [
      { ownerId: 'alice', idempotencyKey: 'k1', requestHash: hash('a') },
      { ownerId: 'bob', idempotencyKey: null, requestHash: hash('b') },
      { ownerId: 'alice', idempotencyKey: null, requestHash: hash('a') },
    ];
    const rows = [row('3', 'alice', null, 'a'), row('1', 'alice', 'k1', 'a'), row('2', 'bob', null, 'b')];
    assert.deepEqual(
      matchInserted(inputs, rows).map((r) => r?.id),
      ['1', '2', '3'],
    );
  });

  it('gives null to a submission whose key was taken, including by an earlier one of the same batch', () => {
    const inputs = [
      { ownerId: 'alice', idempotencyKey: 'k', requestHash: hash('a') },
      { ownerId: 'alice', idempotencyKey: 'k', requestHash: hash('a') },
      { ownerId: 'alice', idempotencyKey: 'used', requestHash: hash('z') },
    ];
    assert.deepEqual(
      matchInserted(inputs, [row('7', 'alice', 'k', 'a')]).map((r) => r?.id ?? null),
      ['7', null, null],
    );
  });

  it('hands identical unkeyed submissions one row each, never the same row twice', () => {
    const same = { ownerId: 'alice', idempotencyKey: null, requestHash: hash('a') };
    const matched = matchInserted([same, same], [row('5', 'alice', null, 'a'), row('6', 'alice', null, 'a')]);
    assert.deepEqual(matched.map((r) => r?.id).sort(), ['5', '6']);
  });

  it('tells an empty idempotency key from none, and one owner from another', () => {
    const inputs = [
      { ownerId: 'alice', idempotencyKey: '', requestHash: hash('a') },
      { ownerId: 'bob', idempotencyKey: null, requestHash: hash('a') },
    ];
    assert.deepEqual(
      matchInserted(inputs, [row('1', 'alice', null, 'a'), row('2', 'alice', '', 'a')]).map((r) => r?.id ?? null),
      ['2', null],
    );
  });
});
