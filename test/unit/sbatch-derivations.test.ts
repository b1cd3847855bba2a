import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { impliedTaskCount, lowerNodesToTasks, requestedCpus } from '../../src/core/sbatch/sbatch-derivations';
import { parseSubmission } from '../../src/core/sbatch/parse-sbatch';

const parse = (options: Record<string, unknown>) => parseSubmission('#!/bin/bash\ntrue\n', options).spec;

describe('sbatch derivations (as native sbatch 22.05 submitted them on local-a)', () => {
  test('a task count below the node count lowers the node range (sbatch -N3 -n2 → 2, -N2-3 -n1 → 1, -N1-3 -n2 → 1-2)', () => {
    assert.deepEqual(parse({ nodes: '3', ntasks: 2 }).nodes, { min: 2 });
    assert.deepEqual(parse({ nodes: '2-3', ntasks: 1 }).nodes, { min: 1 });
    assert.deepEqual(parse({ nodes: '1-3', ntasks: 2 }).nodes, { min: 1, max: 2 });
    assert.deepEqual(parse({ nodes: '2-3', ntasks: 2 }).nodes, { min: 2 });
    assert.deepEqual(parse({ nodes: '2', ntasks: 8 }).nodes, { min: 2 });
    const untouched = { nodes: { min: 1, max: 4 }, ntasks: 4 };
    assert.equal(lowerNodesToTasks(untouched), untouched);
    assert.deepEqual(lowerNodesToTasks({ nodes: { min: 3 } }), { nodes: { min: 3 } });
  });
  test('without -n, -N implies tasks per node (--ntasks-per-node, else one), as native -N2 asks for 2 CPUs', () => {
    assert.equal(impliedTaskCount({ nodes: { min: 2 }, cpusPerTask: 4 }), 2);
    assert.equal(impliedTaskCount({ nodes: { min: 2, max: 3 }, cpusPerTask: 4 }), 2);
    assert.equal(impliedTaskCount({ nodes: { min: 2 } }), 2);
    assert.equal(impliedTaskCount({ nodes: { min: 2 }, ntasksPerNode: 3 }), 6);
    assert.equal(impliedTaskCount({ nodes: { min: 2 }, cpusPerTask: 4, ntasks: 3 }), undefined);
    assert.equal(impliedTaskCount({ cpusPerTask: 4 }), undefined);
  });
  test('requested CPUs as scontrol NumCPUs showed them for native sbatch on local-a', () => {
    const cases: Array<[Record<string, unknown>, number]> = [
      [{}, 1],
      [{ 'cpus-per-task': 4 }, 4],
      [{ nodes: '2' }, 2],
      [{ nodes: '2', 'cpus-per-task': 4 }, 8],
      [{ nodes: '2', 'ntasks-per-node': 2, 'cpus-per-task': 2 }, 8],
      [{ nodes: '2', 'ntasks-per-node': 2 }, 4],
      [{ ntasks: 3, 'cpus-per-task': 2 }, 6],
      [{ nodes: '2', ntasks: 3, 'cpus-per-task': 2 }, 6],
    ];
    for (const [options, cpus] of cases) assert.equal(requestedCpus(parse(options)), cpus, JSON.stringify(options));
  });
});
