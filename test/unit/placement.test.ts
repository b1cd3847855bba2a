import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { chooseIsland, type IslandCandidate } from '../../src/scheduling/placement';

function island(name: string, unfinishedJobs: number, partitions = ['debug', 'batch'], defaultPartition = partitions[0]): IslandCandidate {
  return { name, partitions, defaultPartition, unfinishedJobs };
}

describe('chooseIsland', () => {
  it('picks the least loaded island and its default partition when no partition is asked for', () => {
    const d = chooseIsland({}, [island('a', 5), island('b', 2, ['gpu', 'debug'], 'gpu'), island('c', 9)]);
    assert.deepEqual(d, { kind: 'placed', island: 'b', partition: 'gpu', rejected: [] });
  });

  it('breaks load ties by name, whatever the candidate order', () => {
    for (const order of [['c', 'a', 'b'], ['b', 'c', 'a'], ['a', 'b', 'c']]) {
      const d = chooseIsland({}, order.map((n) => island(n, 3)));
      assert.equal(d.kind, 'placed');
      if (d.kind === 'placed') assert.equal(d.island, 'a', order.join(','));
    }
  });

  it('a lower load beats an earlier name', () => {
    const d = chooseIsland({}, [island('a', 4), island('z', 3)]);
    assert.equal(d.kind === 'placed' && d.island, 'z');
  });

  it('keeps the requested partition and skips islands without it, saying why', () => {
    const d = chooseIsland({ partition: 'gpu' }, [island('a', 0, ['debug']), island('b', 10, ['debug', 'gpu']), island('c', 1, ['batch'])]);
    assert.deepEqual(d, {
      kind: 'placed',
      island: 'b',
      partition: 'gpu',
      rejected: [
        { island: 'a', reason: 'no partition gpu' },
        { island: 'c', reason: 'no partition gpu' },
      ],
    });
  });

  it('the requested partition is used even when it is not the island\'s default', () => {
    const d = chooseIsland({ partition: 'batch' }, [island('a', 0, ['debug', 'batch'], 'debug')]);
    assert.equal(d.kind === 'placed' && d.partition, 'batch');
  });

  it('a required island wins over load', () => {
    const d = chooseIsland({ requiredIsland: 'busy' }, [island('idle', 0), island('busy', 100)]);
    assert.deepEqual(d, {
      kind: 'placed',
      island: 'busy',
      partition: 'debug',
      rejected: [{ island: 'idle', reason: 'the job depends on jobs on busy' }],
    });
  });

  it('unplaceable when the required island lacks the partition', () => {
    const d = chooseIsland({ requiredIsland: 'a', partition: 'gpu' }, [island('a', 0, ['debug']), island('b', 0, ['gpu'])]);
    assert.deepEqual(d, {
      kind: 'unplaceable',
      rejected: [
        { island: 'a', reason: 'no partition gpu' },
        { island: 'b', reason: 'the job depends on jobs on a' },
      ],
    });
  });

  it('unplaceable when the required island is not configured', () => {
    const d = chooseIsland({ requiredIsland: 'gone' }, [island('a', 0)]);
    assert.equal(d.kind, 'unplaceable');
    assert.equal(d.rejected.length, 1);
  });

  it('unplaceable when no island offers the partition', () => {
    const d = chooseIsland({ partition: 'nope' }, [island('a', 0), island('b', 0)]);
    assert.equal(d.kind, 'unplaceable');
    assert.deepEqual(d.rejected.map((r) => r.island), ['a', 'b']);
  });

  it('unplaceable with no candidates at all', () => {
    assert.deepEqual(chooseIsland({}, []), { kind: 'unplaceable', rejected: [] });
  });

  it('does not reorder the caller\'s candidate list', () => {
    const candidates = [island('b', 9), island('a', 1)];
    chooseIsland({}, candidates);
    assert.deepEqual(candidates.map((c) => c.name), ['b', 'a']);
  });
});
