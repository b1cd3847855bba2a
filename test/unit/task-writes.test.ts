import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { PendingTaskFields } from '../../src/core/jobs/job-rows';
import type { ArrayTasks, TaskUpsert } from '../../src/core/dispatch/observation';
import { taskWrites } from '../../src/core/dispatch/task-writes';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const held: PendingTaskFields = { state: 'PENDING', state_reason: 'JobHeldUser', exit_code: null, exit_signal: null, ended_at: null };
const released: PendingTaskFields = { ...held, state_reason: 'Priority' };
const running = (taskId: number, over: Partial<TaskUpsert> = {}): TaskUpsert => ({
  task_id: taskId,
  slurm_job_id: String(700 + taskId),
  state: 'RUNNING',
  state_reason: null,
  nodes: 'n1',
  batch_host: 'n1',
  exit_code: null,
  exit_signal: null,
  started_at: new Date(1_700_000_000_000),
  ended_at: null,
  ...over,
});
const observed = (listed: TaskUpsert[], pending: ArrayTasks['pending']): ArrayTasks => ({ listed, pending });

describe('taskWrites: only what changed since the last write', () => {
  it('the first observation writes everything', () => {
    const tasks = observed([running(0)], [{ taskIds: range(1, 9999), fields: held }]);
    const w = taskWrites(undefined, tasks);
    assert.deepEqual(w.listed, [running(0)]);
    assert.deepEqual(w.pending, [{ taskIds: range(1, 9999), fields: held }]);
  });

  it('a held array SLURM reports again unchanged writes nothing', () => {
    const tasks = () => observed([], [{ taskIds: range(0, 9999), fields: held }]);
    const first = taskWrites(undefined, tasks());
    const again = taskWrites(first.written, tasks());
    assert.deepEqual(again.listed, []);
    assert.deepEqual(again.pending, []);
    assert.deepEqual(taskWrites(again.written, tasks()).pending, [], 'and again');
  });

  it('a remainder that shrinks as tasks start writes only the started tasks', () => {
    const first = taskWrites(undefined, observed([], [{ taskIds: range(0, 9999), fields: held }]));
    const next = taskWrites(first.written, observed([running(0), running(1)], [{ taskIds: range(2, 9999), fields: held }]));
    assert.deepEqual(next.pending, []);
    assert.deepEqual(
      next.listed.map((t) => t.task_id),
      [0, 1],
    );
  });

  it('a remainder whose reason changed (released) is written again, whole', () => {
    const first = taskWrites(undefined, observed([], [{ taskIds: range(0, 99), fields: held }]));
    const next = taskWrites(first.written, observed([], [{ taskIds: range(0, 99), fields: released }]));
    assert.deepEqual(next.pending, [{ taskIds: range(0, 99), fields: released }]);
  });

  it('tasks that join a remainder are written, the ones it kept are not', () => {
    const first = taskWrites(undefined, observed([running(5)], [{ taskIds: [1, 2, 3], fields: held }]));
    const next = taskWrites(first.written, observed([], [{ taskIds: [1, 2, 3, 5], fields: held }]));
    assert.deepEqual(next.pending, [{ taskIds: [5], fields: held }]);
  });

  it('of the listed tasks only the changed ones are written', () => {
    const first = taskWrites(undefined, observed([running(0), running(1), running(2)], []));
    const ended = running(1, { state: 'COMPLETED', exit_code: 0, ended_at: new Date(1_700_000_060_000) });
    const next = taskWrites(first.written, observed([running(0), ended, running(2)], []));
    assert.deepEqual(next.listed, [ended]);
    assert.deepEqual(taskWrites(next.written, observed([running(0), ended, running(2)], [])).listed, []);
  });

  it('a task that left the listing and came back is written again', () => {
    const first = taskWrites(undefined, observed([running(0)], []));
    const gone = taskWrites(first.written, observed([], []));
    assert.deepEqual(taskWrites(gone.written, observed([running(0)], [])).listed, [running(0)]);
  });
});
