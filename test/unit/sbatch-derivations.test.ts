import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { impliedTaskCount, lowerNodesToTasks } from '../../src/core/sbatch/sbatch-derivations';
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
  test('without -n, -N with -c implies one task per node (min CPUs = nodes × cpus-per-task)', () => {
    assert.equal(impliedTaskCount({ nodes: { min: 2 }, cpusPerTask: 4 }), 2);
    assert.equal(impliedTaskCount({ nodes: { min: 2, max: 3 }, cpusPerTask: 4 }), 2);
    assert.equal(impliedTaskCount({ nodes: { min: 2 }, cpusPerTask: 4, ntasks: 3 }), undefined);
    assert.equal(impliedTaskCount({ cpusPerTask: 4 }), undefined);
    assert.equal(impliedTaskCount({ nodes: { min: 2 } }), undefined);
  });
});
