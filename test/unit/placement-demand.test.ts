import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { deriveDemand, DemandError } from '../../src/core/placement/job-demand';
import { ConstraintError, parseConstraint, satisfies } from '../../src/core/placement/feature-constraint';
import { applyNodeChanges, nodeFromSlurm, nodeStateOf, parseNodeGres, PendingQueueTracker } from '../../src/core/placement/capacity-refresh';
import type { IslandCapacity } from '../../src/core/placement/capacity';

describe('deriveDemand', () => {
  it('derives per-node CPUs and memory, node count and the tight-tier need', () => {
    const d = deriveDemand({ nodes: { min: 2 }, ntasksPerNode: 4, cpusPerTask: 2, memPerCpuMb: 1000, timeLimitMinutes: 90 });
    assert.equal(d.nodes, 2);
    assert.equal(d.tasksPerNode, 4);
    assert.equal(d.cpusPerNode, 8);
    assert.equal(d.memPerNodeMb, 8000);
    assert.equal(d.requiresTightTier, true);
    assert.equal(d.timeLimitMinutes, 90);
    assert.equal(d.runtimeMinutes, 90);
  });

  it('maps --switches to island tiers: 1 keeps the tight tier, 2 or more accepts loose islands', () => {
    assert.equal(deriveDemand({ nodes: { min: 2 }, switches: { count: 1 } }).requiresTightTier, true);
    assert.equal(deriveDemand({ nodes: { min: 2 }, switches: { count: 2, waitMinutes: 10 } }).requiresTightTier, false);
    assert.equal(deriveDemand({ switches: { count: 1 } }).requiresTightTier, false, 'one node is behind one switch anyway');
  });

  it('keeps -n without -N on one node, spreads --ntasks over --ntasks-per-node', () => {
    assert.deepEqual([deriveDemand({ ntasks: 8 }).nodes, deriveDemand({ ntasks: 8 }).cpusPerNode], [1, 8]);
    const d = deriveDemand({ ntasks: 8, ntasksPerNode: 2, cpusPerTask: 3 });
    assert.deepEqual([d.nodes, d.cpusPerNode, d.requiresTightTier], [4, 6, true]);
    assert.equal(deriveDemand({ nodes: { min: 3 } }).cpusPerNode, 1, 'one task per node by default');
  });

  it('reads GPUs and their model from --gres, --gpus-per-node, --gpus and --gpus-per-task', () => {
    const gres = deriveDemand({ gres: 'gpu:a100:2' });
    assert.deepEqual([gres.gpusPerNode, gres.gpuModel], [2, 'a100']);
    const untyped = deriveDemand({ gres: 'gpu:3' });
    assert.deepEqual([untyped.gpusPerNode, untyped.gpuModel], [3, null]);
    const perNode = deriveDemand({ gpusPerNode: 'h100:4' });
    assert.deepEqual([perNode.gpusPerNode, perNode.gpuModel], [4, 'h100']);
    const total = deriveDemand({ nodes: { min: 2 }, gpus: 'a100:8' });
    assert.deepEqual([total.gpusPerNode, total.gpuModel], [4, 'a100']);
    const perTask = deriveDemand({ ntasksPerNode: 4, gpusPerTask: '1' });
    assert.equal(perTask.gpusPerNode, 4);
    const gpuMem = deriveDemand({ gpusPerNode: '2', memPerGpuMb: 10000 });
    assert.equal(gpuMem.memPerNodeMb, 20000);
  });

  it('refuses GPU requests it cannot honour, with a reason', () => {
    assert.throws(
      () => deriveDemand({ gres: 'gpu:a100:1', gpusPerNode: 'v100:1' }),
      (e: unknown) => e instanceof DemandError && /models disagree/.test(e.message),
    );
    assert.throws(() => deriveDemand({ gpus: 'a100:1,v100:1' }), /more than one GPU model/);
    assert.throws(() => deriveDemand({ gres: 'gpu:a100:x' }), /not a number/);
  });

  it('keeps other GRES as a note, --mem=0 as whole-node memory, --exclusive as whole nodes', () => {
    const d = deriveDemand({ gres: 'shard:2,gpu:1', memPerNodeMb: 0, exclusive: 'exclusive' });
    assert.deepEqual(d.notes, ['GRES shard:2 is not tracked by placement']);
    assert.equal(d.gpusPerNode, 1);
    assert.equal(d.wholeNodeMemory, true);
    assert.equal(d.exclusive, true);
  });

  it('distinguishes no time limit (partition default) from UNLIMITED', () => {
    const none = deriveDemand({});
    assert.deepEqual([none.timeGiven, none.timeLimitMinutes, none.runtimeMinutes], [false, null, 60]);
    const unlimited = deriveDemand({ timeLimitMinutes: null }, { defaultTimeMinutes: 120 });
    assert.deepEqual([unlimited.timeGiven, unlimited.timeLimitMinutes, unlimited.runtimeMinutes], [true, null, 120]);
    assert.notEqual(none.key, unlimited.key);
  });

  it('carries the array tasks and throttle, outside the shape key', () => {
    const d = deriveDemand({ array: { expression: '0-9%2', taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], maxRunning: 2 } });
    assert.deepEqual(d.array, { taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], maxRunning: 2 });
    assert.equal(d.key, deriveDemand({}).key);
  });

  it('turns a bad --constraint into a DemandError', () => {
    assert.throws(
      () => deriveDemand({ constraint: 'a*2' }),
      (e: unknown) => e instanceof DemandError && /counts/.test(e.message),
    );
  });
});

describe('parseConstraint', () => {
  const has = (...f: string[]) => new Set(f);
  it('AND, OR, grouping; & binds tighter than |', () => {
    const and = parseConstraint('ib&avx512');
    assert.equal(satisfies(and.expr, has('ib', 'avx512')), true);
    assert.equal(satisfies(and.expr, has('ib')), false);
    const or = parseConstraint('a|b&c');
    assert.equal(satisfies(or.expr, has('a')), true);
    assert.equal(satisfies(or.expr, has('b')), false);
    const grouped = parseConstraint('(a|b)&c');
    assert.equal(satisfies(grouped.expr, has('b', 'c')), true);
    assert.equal(satisfies(grouped.expr, has('a')), false);
  });

  it('a [a|b] matching-OR group expands into one alternative per choice', () => {
    const c = parseConstraint('ib&[rack1|rack2]');
    assert.equal(c.alternatives.length, 2);
    assert.equal(satisfies(c.alternatives[0], has('ib', 'rack1')), true);
    assert.equal(satisfies(c.alternatives[0], has('ib', 'rack2')), false);
    assert.equal(satisfies(c.alternatives[1], has('ib', 'rack2')), true);
    assert.equal(parseConstraint('a|b').alternatives.length, 1);
  });

  it('refuses what it does not support, saying what', () => {
    for (const [text, why] of [
      ['a*2', /counts/],
      ['[a*2&b*4]', /counts|not supported/],
      ['!a', /negation/],
      ['a,b', /use & for AND/],
      ['(a|b', /unbalanced/],
      ['[a|b]&[c|d]', /only one/],
      ['a&', /ends where/],
      ['', /empty/],
    ] as const) {
      assert.throws(
        () => parseConstraint(text),
        (e: unknown) => e instanceof ConstraintError && why.test(e.message),
        text,
      );
    }
  });
});

describe('capacity refresh', () => {
  it('maps a slurmrestd node record: free CPUs, memory, GPUs per model, features, state', () => {
    const n = nodeFromSlurm({
      name: 'n1',
      state: 'MIXED',
      cpus: 64,
      alloc_cpus: 16,
      real_memory: 256000,
      alloc_memory: 64000,
      gres: 'gpu:a100:4(S:0-1),gpu:v100:2',
      gres_used: 'gpu:a100:1(IDX:0),gpu:v100:0',
      active_features: 'ib, avx512',
    });
    assert.deepEqual(n, {
      name: 'n1',
      cpus: 64,
      cpusFree: 48,
      memoryMb: 256000,
      memoryFreeMb: 192000,
      gpus: [
        { model: 'a100', total: 4, free: 3 },
        { model: 'v100', total: 2, free: 2 },
      ],
      features: ['ib', 'avx512'],
      state: 'mixed',
    });
  });

  it('reads drain and down from the state and its flags', () => {
    assert.equal(nodeStateOf('IDLE', ['DRAIN']), 'drain');
    assert.equal(nodeStateOf('MIXED+DRAIN'), 'drain');
    assert.equal(nodeStateOf('down'), 'down');
    assert.equal(nodeStateOf('ALLOCATED'), 'allocated');
    assert.equal(nodeStateOf('idle'), 'idle');
    assert.deepEqual(parseNodeGres('gpu:2,shard:8'), [{ model: '', count: 2 }]);
    assert.deepEqual(parseNodeGres('(null)'), []);
  });

  it('merges changed nodes by name without touching the input', () => {
    const island = {
      name: 'a',
      nodes: [
        { name: 'n1', cpusFree: 1 },
        { name: 'n2', cpusFree: 2 },
      ],
    } as unknown as IslandCapacity;
    const changed = { name: 'n2', cpusFree: 0 } as never;
    const added = { name: 'n3', cpusFree: 8 } as never;
    const next = applyNodeChanges(island, [changed, added], ['n1']);
    assert.deepEqual(
      next.nodes.map((n) => [n.name, n.cpusFree]),
      [
        ['n2', 0],
        ['n3', 8],
      ],
    );
    assert.equal(island.nodes.length, 2);
    assert.equal(applyNodeChanges(island, []), island);
  });

  it('keeps queue depth from job deltas only', () => {
    const q = new PendingQueueTracker();
    q.apply([
      { key: '1', state: 'PENDING', cpus: 4, timeLimitMinutes: 10 },
      { key: '2', state: 'PENDING', cpus: 2, timeLimitMinutes: 60, pendingTasks: 5 },
      { key: '3', state: 'RUNNING', cpus: 64, timeLimitMinutes: 60 },
    ]);
    assert.deepEqual(q.depth(), { pendingJobs: 6, pendingCpuSeconds: 4 * 600 + 5 * 2 * 3600 });
    q.apply([{ key: '1', state: 'RUNNING', cpus: 4, timeLimitMinutes: 10 }]);
    q.forget(['2']);
    assert.deepEqual(q.depth(), { pendingJobs: 0, pendingCpuSeconds: 0 });
  });
});
