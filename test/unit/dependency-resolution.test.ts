import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { resolveDependencies, type DependencyTarget } from '../../src/core/dispatch/dependency-resolution';
import type { JobState } from '../../src/core/jobs/lifecycle';
import type { DependencyClause, DependencyKind, DependencySpec } from '../../src/core/sbatch/job-spec';

/** A target job as the dispatcher's database knows it. */
function target(jobId: string, state: JobState, slurmJobId: number | null = null, island: string | null = null): DependencyTarget {
  return { jobId, state, slurmJobId, island };
}
const running = (jobId: string, slurmJobId: number, island = 'a') => target(jobId, 'RUNNING', slurmJobId, island);
const pending = (jobId: string, slurmJobId: number, island = 'a') => target(jobId, 'PENDING', slurmJobId, island);

function clause(kind: DependencyKind, ...ids: Array<string | [string, number]>): DependencyClause {
  return {
    kind,
    targets: ids.map((id) => (Array.isArray(id) ? { jobId: id[0], delayMinutes: id[1] } : { jobId: id })),
  };
}
const all = (...clauses: DependencyClause[]): DependencySpec => ({ combine: 'all', clauses });
const any = (...clauses: DependencyClause[]): DependencySpec => ({ combine: 'any', clauses });

const FAILED_ENDS: JobState[] = ['FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE'];

describe('resolveDependencies: no dependency', () => {
  it('is ready without a dependency or island when the spec is absent', () => {
    assert.deepEqual(resolveDependencies(undefined, []), { kind: 'ready' });
  });
  it('is ready when the spec has no clauses', () => {
    assert.deepEqual(resolveDependencies(all(), []), { kind: 'ready' });
  });
});

describe('resolveDependencies: targets not in SLURM yet -> wait', () => {
  for (const state of ['ACCEPTED', 'DISPATCHING'] as JobState[]) {
    it(`waits for a target still ${state}`, () => {
      const r = resolveDependencies(all(clause('afterok', '7')), [target('7', state)]);
      assert.deepEqual(r, { kind: 'wait', waitingFor: ['7'] });
    });
  }
  it('waits when the target has a SLURM id but no island recorded yet', () => {
    const r = resolveDependencies(all(clause('afterany', '7')), [target('7', 'PENDING', 70, null)]);
    assert.deepEqual(r, { kind: 'wait', waitingFor: ['7'] });
  });
  it('lists every target of the waiting clause, across clauses', () => {
    const r = resolveDependencies(all(clause('afterok', '1', '2'), clause('afterany', '3')), [
      target('1', 'ACCEPTED'),
      pending('2', 20),
      target('3', 'DISPATCHING'),
    ]);
    assert.deepEqual(r, { kind: 'wait', waitingFor: ['1', '2', '3'] });
  });
  it('an `after` target that has not started and is not in SLURM also waits', () => {
    const r = resolveDependencies(all(clause('after', '5')), [target('5', 'ACCEPTED')]);
    assert.deepEqual(r, { kind: 'wait', waitingFor: ['5'] });
  });
});

describe('resolveDependencies: targets in SLURM -> ready with SLURM ids, pinned to their island', () => {
  it('afterok on a pending job becomes afterok on its SLURM id', () => {
    const r = resolveDependencies(all(clause('afterok', '7')), [pending('7', 1007, 'east')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '1007' }] }] },
      island: 'east',
    });
  });
  for (const kind of ['afterok', 'afterany', 'afternotok', 'aftercorr'] as DependencyKind[]) {
    it(`${kind} on a running job is handed to SLURM`, () => {
      const r = resolveDependencies(all(clause(kind, '3')), [running('3', 33, 'west')]);
      assert.equal(r.kind, 'ready');
      if (r.kind !== 'ready') return;
      assert.equal(r.island, 'west');
      assert.deepEqual(r.dependency, { combine: 'all', clauses: [{ kind, targets: [{ jobId: '33' }] }] });
    });
  }
  it('keeps the delay of after:<id>+N when translating the id', () => {
    const r = resolveDependencies(all(clause('after', ['4', 15])), [pending('4', 44)]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'after', targets: [{ jobId: '44', delayMinutes: 15 }] }] },
      island: 'a',
    });
  });
  it('drops targets already satisfied from a clause and keeps the rest', () => {
    const r = resolveDependencies(all(clause('afterok', '1', '2')), [target('1', 'COMPLETED', 11, 'a'), running('2', 22, 'a')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '22' }] }] },
      island: 'a',
    });
  });
  it('drops a clause whose targets are all satisfied and keeps the other clauses', () => {
    const r = resolveDependencies(all(clause('afterany', '1'), clause('afterok', '2')), [target('1', 'FAILED', 11, 'a'), pending('2', 22, 'a')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '22' }] }] },
      island: 'a',
    });
  });
  it('does not modify the spec it was given', () => {
    const spec = all(clause('afterok', '7'));
    const copy = structuredClone(spec);
    resolveDependencies(spec, [pending('7', 1007)]);
    assert.deepEqual(spec, copy);
  });
  it('pins to the one island every pending target is on', () => {
    const r = resolveDependencies(all(clause('afterok', '1', '2'), clause('afterany', '3')), [
      pending('1', 11, 'b'),
      running('2', 22, 'b'),
      pending('3', 33, 'b'),
    ]);
    assert.equal(r.kind, 'ready');
    if (r.kind !== 'ready') return;
    assert.equal(r.island, 'b');
    assert.deepEqual(
      r.dependency?.clauses.map((c) => c.targets.map((t) => t.jobId)),
      [['11', '22'], ['33']],
    );
  });
  it('is never satisfiable when pending targets are on different islands (SLURM cannot depend across clusters)', () => {
    const r = resolveDependencies(all(clause('afterok', '1'), clause('afterok', '2')), [pending('1', 11, 'a'), pending('2', 22, 'b')]);
    assert.equal(r.kind, 'never');
    if (r.kind === 'never') assert.match(r.reason, /different islands/);
  });
  it('a finished target on another island does not pin the job', () => {
    const r = resolveDependencies(all(clause('afterok', '1', '2')), [target('1', 'COMPLETED', 11, 'b'), pending('2', 22, 'a')]);
    assert.equal(r.kind, 'ready');
    if (r.kind === 'ready') assert.equal(r.island, 'a');
  });
  it('a started `after` target on another island does not pin the job either', () => {
    const r = resolveDependencies(all(clause('after', '1'), clause('afterok', '2')), [running('1', 11, 'b'), pending('2', 22, 'a')]);
    assert.equal(r.kind, 'ready');
    if (r.kind !== 'ready') return;
    assert.equal(r.island, 'a');
    assert.deepEqual(r.dependency?.clauses, [{ kind: 'afterok', targets: [{ jobId: '22' }] }]);
  });
});

describe('resolveDependencies: after / after+delay', () => {
  for (const state of ['RUNNING', 'CONFIGURING', 'SUSPENDED', 'COMPLETING'] as JobState[]) {
    it(`plain after is satisfied once the target has started (${state})`, () => {
      assert.deepEqual(resolveDependencies(all(clause('after', '1')), [target('1', state, 11, 'a')]), { kind: 'ready' });
    });
  }
  it('plain after on a pending target goes to SLURM', () => {
    const r = resolveDependencies(all(clause('after', '1')), [pending('1', 11, 'a')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'after', targets: [{ jobId: '11' }] }] },
      island: 'a',
    });
  });
  it("after+N on a running target is still SLURM's to time (not satisfied yet)", () => {
    const r = resolveDependencies(all(clause('after', ['1', 10])), [running('1', 11, 'a')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'all', clauses: [{ kind: 'after', targets: [{ jobId: '11', delayMinutes: 10 }] }] },
      island: 'a',
    });
  });
  for (const state of ['COMPLETED', 'FAILED', 'CANCELLED'] as JobState[]) {
    it(`after is satisfied by a target that ended ${state}`, () => {
      assert.deepEqual(resolveDependencies(all(clause('after', '1')), [target('1', state, 11, 'a')]), { kind: 'ready' });
    });
  }
});

describe('resolveDependencies: targets that ended', () => {
  it('afterok on a COMPLETED target is satisfied', () => {
    assert.deepEqual(resolveDependencies(all(clause('afterok', '1')), [target('1', 'COMPLETED', 11, 'a')]), { kind: 'ready' });
  });
  it('aftercorr on a COMPLETED target is satisfied', () => {
    assert.deepEqual(resolveDependencies(all(clause('aftercorr', '1')), [target('1', 'COMPLETED', 11, 'a')]), { kind: 'ready' });
  });
  for (const state of FAILED_ENDS) {
    it(`afterok on a target that ended ${state} can never be satisfied`, () => {
      const r = resolveDependencies(all(clause('afterok', '1')), [target('1', state, 11, 'a')]);
      assert.equal(r.kind, 'never');
      if (r.kind === 'never') {
        assert.match(r.reason, /afterok/);
        assert.match(r.reason, /job 1\b/);
        assert.match(r.reason, new RegExp(state));
      }
    });
    it(`aftercorr on a target that ended ${state} can never be satisfied`, () => {
      assert.equal(resolveDependencies(all(clause('aftercorr', '1')), [target('1', state, 11, 'a')]).kind, 'never');
    });
    it(`afternotok on a target that ended ${state} is satisfied`, () => {
      assert.deepEqual(resolveDependencies(all(clause('afternotok', '1')), [target('1', state, 11, 'a')]), { kind: 'ready' });
    });
    it(`afterany on a target that ended ${state} is satisfied`, () => {
      assert.deepEqual(resolveDependencies(all(clause('afterany', '1')), [target('1', state, 11, 'a')]), { kind: 'ready' });
    });
  }
  it('afternotok on a COMPLETED target can never be satisfied', () => {
    const r = resolveDependencies(all(clause('afternotok', '1')), [target('1', 'COMPLETED', 11, 'a')]);
    assert.equal(r.kind, 'never');
    if (r.kind === 'never') assert.match(r.reason, /afternotok on job 1, which ended COMPLETED/);
  });
  it('afterany on a COMPLETED target is satisfied', () => {
    assert.deepEqual(resolveDependencies(all(clause('afterany', '1')), [target('1', 'COMPLETED', 11, 'a')]), { kind: 'ready' });
  });
  it('a target cancelled before it reached SLURM is judged by its state, not waited for', () => {
    assert.equal(resolveDependencies(all(clause('afterok', '1')), [target('1', 'CANCELLED')]).kind, 'never');
    assert.deepEqual(resolveDependencies(all(clause('afterany', '1')), [target('1', 'CANCELLED')]), { kind: 'ready' });
  });
  it('a REJECTED target can never satisfy afterok', () => {
    assert.equal(resolveDependencies(all(clause('afterok', '1')), [target('1', 'REJECTED')]).kind, 'never');
  });
});

describe('resolveDependencies: missing targets', () => {
  it('a target that does not exist can never be satisfied', () => {
    const r = resolveDependencies(all(clause('afterany', '404')), []);
    assert.deepEqual(r, { kind: 'never', reason: 'job 404 does not exist' });
  });
  it('one missing target among existing ones is enough for never under "all"', () => {
    const r = resolveDependencies(all(clause('afterok', '1'), clause('afterok', '404')), [pending('1', 11)]);
    assert.equal(r.kind, 'never');
    if (r.kind === 'never') assert.match(r.reason, /404/);
  });
  it('under "all", never wins over a clause still waiting for dispatch', () => {
    const r = resolveDependencies(all(clause('afterok', '1'), clause('afterok', '2')), [target('1', 'ACCEPTED'), target('2', 'FAILED', 22, 'a')]);
    assert.equal(r.kind, 'never');
  });
});

describe('resolveDependencies: singleton', () => {
  it('is passed to SLURM unchanged, with no island pin', () => {
    const r = resolveDependencies(all(clause('singleton')), []);
    assert.deepEqual(r, { kind: 'ready', dependency: { combine: 'all', clauses: [{ kind: 'singleton', targets: [] }] }, island: undefined });
  });
  it('combines with other clauses and takes their island', () => {
    const r = resolveDependencies(all(clause('singleton'), clause('afterok', '1')), [pending('1', 11, 'z')]);
    assert.equal(r.kind, 'ready');
    if (r.kind !== 'ready') return;
    assert.equal(r.island, 'z');
    assert.deepEqual(r.dependency?.clauses, [
      { kind: 'singleton', targets: [] },
      { kind: 'afterok', targets: [{ jobId: '11' }] },
    ]);
  });
});

describe('resolveDependencies: "any" (?)', () => {
  it('is ready with no dependency as soon as one clause is already satisfied', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afterok', '2')), [target('1', 'COMPLETED', 11, 'a'), pending('2', 22, 'b')]);
    assert.deepEqual(r, { kind: 'ready' });
  });
  it('a satisfied clause wins even over a clause still waiting for dispatch', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afterok', '2')), [target('1', 'ACCEPTED'), target('2', 'COMPLETED', 22, 'a')]);
    assert.deepEqual(r, { kind: 'ready' });
  });
  it('one never clause is not enough for never', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afterany', '2')), [target('1', 'FAILED', 11, 'a'), pending('2', 22, 'b')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'any', clauses: [{ kind: 'afterany', targets: [{ jobId: '22' }] }] },
      island: 'b',
    });
  });
  it('waits when no clause is satisfied and one waits for dispatch', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afterok', '2')), [target('1', 'FAILED', 11, 'a'), target('2', 'DISPATCHING')]);
    assert.deepEqual(r, { kind: 'wait', waitingFor: ['2'] });
  });
  it('is never when every clause is never, giving every reason', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afternotok', '2')), [target('1', 'FAILED', 11, 'a'), target('2', 'COMPLETED', 22, 'a')]);
    assert.equal(r.kind, 'never');
    if (r.kind !== 'never') return;
    assert.match(r.reason, /afterok on job 1, which ended FAILED/);
    assert.match(r.reason, /afternotok on job 2, which ended COMPLETED/);
  });
  it('keeps "any" and every pending clause when none is decided yet', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afternotok', '2')), [pending('1', 11, 'a'), running('2', 22, 'a')]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: {
        combine: 'any',
        clauses: [
          { kind: 'afterok', targets: [{ jobId: '11' }] },
          { kind: 'afternotok', targets: [{ jobId: '22' }] },
        ],
      },
      island: 'a',
    });
  });
  it('pending clauses on different islands cannot be handed to one SLURM', () => {
    const r = resolveDependencies(any(clause('afterok', '1'), clause('afterok', '2')), [pending('1', 11, 'a'), pending('2', 22, 'b')]);
    assert.equal(r.kind, 'never');
  });
  it("a clause dropped as never does not pin the job to its running targets' island", () => {
    // afterok:1:2 can never hold (2 failed) although 1 still runs on island a; the remaining
    // clause is entirely on island b, so the job can go there.
    const r = resolveDependencies(any(clause('afterok', '1', '2'), clause('afterany', '3')), [
      running('1', 11, 'a'),
      target('2', 'FAILED', 22, 'a'),
      pending('3', 33, 'b'),
    ]);
    assert.deepEqual(r, {
      kind: 'ready',
      dependency: { combine: 'any', clauses: [{ kind: 'afterany', targets: [{ jobId: '33' }] }] },
      island: 'b',
    });
  });
});
