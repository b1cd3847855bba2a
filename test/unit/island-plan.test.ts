import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { islandsToRetire, NodePosition, nodeSteps } from '../../src/core/islands/island-plan';

const node = (over: Partial<NodePosition> & { name: string }): NodePosition => ({
  state: 'ACTIVE',
  desired: null,
  slurmIsland: null,
  slurmDrained: false,
  ...over,
});

describe('island plan: making SLURM match the grouping', () => {
  const launched = new Set(['island-1', 'island-2']);

  it('joins an active node to its launched island, and waits while the island is not launched', () => {
    assert.deepEqual(nodeSteps([node({ name: 'a', desired: 'island-1' })], launched), [{ kind: 'join', node: 'a', island: 'island-1', drained: false }]);
    assert.deepEqual(nodeSteps([node({ name: 'a', desired: 'island-9' })], launched), []);
  });

  it('joins a drained node drained; never joins a silent one', () => {
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'DRAINING', desired: 'island-1' })], launched), [
      { kind: 'join', node: 'a', island: 'island-1', drained: true },
    ]);
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'STALE', desired: 'island-1' })], launched), []);
  });

  it('moves a regrouped node by leaving first (gracefully), joining on a later pass', () => {
    const steps = nodeSteps([node({ name: 'a', desired: 'island-2', slurmIsland: 'island-1' })], launched);
    assert.deepEqual(steps, [{ kind: 'leave', node: 'a', island: 'island-1', force: false, reason: 'moving to island-2' }]);
  });

  it('drains a node that went silent or was drained by an admin, and resumes it when it is back', () => {
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'STALE', desired: 'island-1', slurmIsland: 'island-1' })], launched), [
      { kind: 'drain', node: 'a', island: 'island-1', reason: 'agent silent' },
    ]);
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'DRAINING', desired: 'island-1', slurmIsland: 'island-1' })], launched), [
      { kind: 'drain', node: 'a', island: 'island-1', reason: 'drained by an admin' },
    ]);
    assert.deepEqual(nodeSteps([node({ name: 'a', desired: 'island-1', slurmIsland: 'island-1', slurmDrained: true })], launched), [
      { kind: 'resume', node: 'a', island: 'island-1', reason: 'regrouped' },
    ]);
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'STALE', desired: 'island-1', slurmIsland: 'island-1', slurmDrained: true })], launched), []);
  });

  it('removes offline and deregistered nodes at once (force), ungrouped active ones gracefully', () => {
    for (const state of ['OFFLINE', 'DEREGISTERED'] as const) {
      assert.deepEqual(nodeSteps([node({ name: 'a', state, desired: 'island-1', slurmIsland: 'island-1' })], launched), [
        { kind: 'leave', node: 'a', island: 'island-1', force: true, reason: `node ${state.toLowerCase()}` },
      ]);
    }
    assert.deepEqual(nodeSteps([node({ name: 'a', slurmIsland: 'island-1' })], launched), [
      { kind: 'leave', node: 'a', island: 'island-1', force: false, reason: 'no longer in an island' },
    ]);
  });

  it('leaves a node alone when SLURM already matches', () => {
    assert.deepEqual(nodeSteps([node({ name: 'a', desired: 'island-1', slurmIsland: 'island-1' })], launched), []);
    assert.deepEqual(nodeSteps([node({ name: 'a', state: 'PENDING' })], launched), []);
  });

  it('retires only islands nobody is in or heading to', () => {
    const nodes = [node({ name: 'a', desired: 'island-1' }), node({ name: 'b', state: 'OFFLINE', slurmIsland: 'island-2' })];
    assert.deepEqual(islandsToRetire(['island-1', 'island-2', 'island-3'], nodes), ['island-3']);
  });
});
