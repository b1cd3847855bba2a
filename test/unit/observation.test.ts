import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { observeJob, type Observation, type TaskUpsert, type TrackedJob } from '../../src/core/dispatch/observation';
import type { SlurmJobRecord } from '../../src/core/slurm/slurm-client.port';

const T0 = 1_700_000_000; // unix seconds
const date = (unix: number) => new Date(unix * 1000);

function record(over: Partial<SlurmJobRecord> = {}): SlurmJobRecord {
  return {
    jobId: 500,
    name: 'job',
    userName: 'alice',
    comment: 'archipelago:test:job=1',
    state: 'PENDING',
    stateReason: 'None',
    partition: 'debug',
    nodes: '',
    batchHost: '',
    exitCode: null,
    exitSignal: null,
    submitTime: T0,
    startTime: null,
    endTime: null,
    standardOutput: '/home/alice/slurm-500.out',
    standardError: '/home/alice/slurm-500.out',
    workingDirectory: '/home/alice',
    ...over,
  };
}

/** Every task row an observation stands for, the remainder's expanded: what job_tasks holds once it is written. */
function taskRowsOf(o: Observation): TaskUpsert[] | undefined {
  if (!o.tasks) return undefined;
  const pending = o.tasks.pending.flatMap((p) =>
    p.taskIds.map((task_id) => ({ task_id, slurm_job_id: null, ...p.fields, nodes: null, batch_host: null, started_at: null })),
  );
  return [...o.tasks.listed, ...pending].sort((a, b) => a.task_id - b.task_id);
}

function tracked(over: Partial<TrackedJob> = {}): TrackedJob {
  return { state: 'DISPATCHING', state_reason: null, slurm_job_id: '500', array_size: null, ...over };
}

/** An array task SLURM lists on its own. */
function task(taskId: number, over: Partial<SlurmJobRecord> = {}): SlurmJobRecord {
  return record({ jobId: 600 + taskId, arrayJobId: 600, arrayTaskId: taskId, ...over });
}
/** The array's pending remainder record (`2-3%2`). */
function remainder(expression: string, over: Partial<SlurmJobRecord> = {}): SlurmJobRecord {
  return record({ jobId: 600, arrayJobId: 600, arrayTaskString: expression, stateReason: 'JobArrayTaskLimit', ...over });
}

describe('observeJob: a single job moving through SLURM', () => {
  it('first sighting PENDING after dispatch: PENDING, no start or end time', () => {
    const o = observeJob(tracked(), [record({ state: 'PENDING', stateReason: 'Priority' })]);
    assert.equal(o.anomaly, undefined);
    assert.equal(o.tasks, undefined);
    assert.deepEqual(o.change, {
      state: 'PENDING',
      reason: 'Priority',
      exitCode: null,
      exitSignal: null,
      batchHost: null,
      nodes: null,
      partition: 'debug',
      startedAt: null,
      endedAt: null,
    });
  });

  it("a pending job's SLURM start_time (an estimate) never becomes startedAt", () => {
    const o = observeJob(tracked(), [record({ state: 'PENDING', startTime: T0 + 3600 })]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.startedAt, null);
  });

  it('PENDING -> RUNNING records the start time, batch host and allocated nodes', () => {
    const o = observeJob(tracked({ state: 'PENDING' }), [record({ state: 'RUNNING', startTime: T0 + 10, nodes: 'n[1-2]', batchHost: 'n1' })]);
    assert.equal(o.anomaly, undefined);
    assert.deepEqual(o.change, {
      state: 'RUNNING',
      reason: null,
      exitCode: null,
      exitSignal: null,
      batchHost: 'n1',
      nodes: 'n[1-2]',
      partition: 'debug',
      startedAt: date(T0 + 10),
      endedAt: null,
    });
  });

  it('a job first seen FAILED after running keeps its start time; one cancelled while pending has none', () => {
    const failed = observeJob(tracked({ state: 'PENDING' }), [
      record({ state: 'FAILED', exitCode: 3, startTime: T0 + 10, endTime: T0 + 11, nodes: 'n1', batchHost: 'n1' }),
    ]);
    assert.deepEqual(failed.change?.startedAt, date(T0 + 10));
    // SLURM sets a pending job's start time to its end time when it is cancelled; no nodes: it never ran.
    const cancelled = observeJob(tracked({ state: 'PENDING' }), [record({ state: 'CANCELLED', startTime: T0 + 20, endTime: T0 + 20, nodes: '' })]);
    assert.equal(cancelled.change?.startedAt, null);
  });

  it('RUNNING -> COMPLETED records exit code, start and end times', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [
      record({ state: 'COMPLETED', exitCode: 0, exitSignal: null, startTime: T0 + 10, endTime: T0 + 70, batchHost: 'n1' }),
    ]);
    assert.deepEqual(o.change, {
      state: 'COMPLETED',
      reason: null,
      exitCode: 0,
      exitSignal: null,
      batchHost: 'n1',
      nodes: null,
      partition: 'debug',
      startedAt: date(T0 + 10),
      endedAt: date(T0 + 70),
    });
  });

  it('RUNNING -> FAILED carries the non-zero exit code and SLURM reason', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [
      record({ state: 'FAILED', stateReason: 'NonZeroExitCode', exitCode: 3, startTime: T0 + 10, endTime: T0 + 20 }),
    ]);
    assert.equal(o.change?.state, 'FAILED');
    assert.equal(o.change?.exitCode, 3);
    assert.equal(o.change?.reason, 'NonZeroExitCode');
    assert.deepEqual(o.change?.endedAt, date(T0 + 20));
  });

  it('a job killed by a signal reports the signal', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'CANCELLED', exitCode: 0, exitSignal: 9, endTime: T0 + 5 })]);
    assert.equal(o.change?.state, 'CANCELLED');
    assert.equal(o.change?.exitSignal, 9);
    assert.deepEqual(o.change?.endedAt, date(T0 + 5));
  });

  it('a short job first seen COMPLETED (skipping RUNNING) gets both times', () => {
    const o = observeJob(tracked({ state: 'PENDING' }), [record({ state: 'COMPLETED', exitCode: 0, startTime: T0 + 1, endTime: T0 + 2 })]);
    assert.equal(o.change?.state, 'COMPLETED');
    assert.deepEqual(o.change?.startedAt, date(T0 + 1));
    assert.deepEqual(o.change?.endedAt, date(T0 + 2));
  });

  it('a finished job with no end time in SLURM still gets an end time (now)', () => {
    const before = Date.now();
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'COMPLETED', exitCode: 0, startTime: T0, endTime: null })]);
    const after = Date.now();
    const ended = o.change?.endedAt;
    assert.ok(ended instanceof Date);
    assert.ok(ended.getTime() >= before && ended.getTime() <= after);
  });

  it('parses compact and flagged state strings (CG while finishing)', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'CG', startTime: T0 })]);
    assert.equal(o.change?.state, 'COMPLETING');
    assert.equal(o.change?.endedAt, null);
  });

  it("picks the record whose id is the job's SLURM id", () => {
    const o = observeJob(tracked({ state: 'PENDING', slurm_job_id: '501' }), [
      record({ jobId: 500, state: 'FAILED', exitCode: 1 }),
      record({ jobId: 501, state: 'RUNNING', startTime: T0 }),
    ]);
    assert.equal(o.change?.state, 'RUNNING');
  });

  it('no change and no anomaly when SLURM says what we already stored', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'RUNNING', startTime: T0 })]);
    assert.deepEqual(o, { tasks: undefined });
  });

  it('SLURM reason "None" counts as no reason', () => {
    const o = observeJob(tracked({ state: 'RUNNING', state_reason: null }), [record({ state: 'RUNNING', stateReason: 'None' })]);
    assert.equal(o.change, undefined);
  });
});

describe('observeJob: reason-only changes', () => {
  it('a held job: PENDING with reason JobHeldUser when the stored reason is null', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: null }), [record({ state: 'PENDING', stateReason: 'JobHeldUser', startTime: T0 + 99 })]);
    assert.equal(o.anomaly, undefined);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.reason, 'JobHeldUser');
    assert.equal(o.change?.startedAt, null);
    assert.equal(o.change?.endedAt, null);
  });
  it('the same reason again is no change', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: 'JobHeldUser' }), [record({ state: 'PENDING', stateReason: 'JobHeldUser' })]);
    assert.equal(o.change, undefined);
  });
  it('a released job: reason cleared to null', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: 'JobHeldUser' }), [record({ state: 'PENDING', stateReason: 'None' })]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.reason, null);
  });
  it('a different waiting reason is recorded', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: 'Priority' }), [record({ state: 'PENDING', stateReason: 'Dependency' })]);
    assert.equal(o.change?.reason, 'Dependency');
  });
});

describe('observeJob: observations that must not be applied', () => {
  it('an unknown state is an anomaly, not a change', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'EXPLODED' })]);
    assert.equal(o.change, undefined);
    assert.match(o.anomaly ?? '', /EXPLODED/);
  });
  it('an empty state is an anomaly', () => {
    const o = observeJob(tracked({ state: 'PENDING' }), [record({ state: '' })]);
    assert.equal(o.change, undefined);
    assert.ok(o.anomaly);
  });
  it('an illegal transition (final state seen running again) is an anomaly naming both states', () => {
    const o = observeJob(tracked({ state: 'COMPLETED' }), [record({ state: 'RUNNING', startTime: T0 })]);
    assert.equal(o.change, undefined);
    assert.match(o.anomaly ?? '', /RUNNING after COMPLETED/);
  });
  it('COMPLETED after FAILED is illegal too', () => {
    const o = observeJob(tracked({ state: 'FAILED' }), [record({ state: 'COMPLETED', exitCode: 0 })]);
    assert.equal(o.change, undefined);
    assert.ok(o.anomaly);
  });
  it('a stale snapshot (PENDING after RUNNING) changes nothing, not even the reason', () => {
    const o = observeJob(tracked({ state: 'RUNNING', state_reason: null }), [record({ state: 'PENDING', stateReason: 'Priority' })]);
    assert.equal(o.change, undefined);
  });
  it('a stale CONFIGURING after RUNNING changes nothing', () => {
    const o = observeJob(tracked({ state: 'RUNNING' }), [record({ state: 'CONFIGURING' })]);
    assert.equal(o.change, undefined);
  });
  it('a requeue edge (PENDING after COMPLETING) is applied', () => {
    const o = observeJob(tracked({ state: 'COMPLETING' }), [record({ state: 'PENDING', stateReason: 'BeginTime', startTime: T0 + 500 })]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.startedAt, null);
  });
});

describe('observeJob: job arrays', () => {
  it('expands the pending remainder `2-3%2` into one PENDING task per index', () => {
    const o = observeJob(tracked({ slurm_job_id: '600', array_size: 4 }), [
      task(0, { state: 'RUNNING', startTime: T0 + 10, nodes: 'n1', batchHost: 'n1' }),
      task(1, { state: 'RUNNING', startTime: T0 + 12, nodes: 'n2', batchHost: 'n2' }),
      remainder('2-3%2'),
    ]);
    assert.equal(o.anomaly, undefined);
    assert.deepEqual(taskRowsOf(o), [
      {
        task_id: 0,
        slurm_job_id: '600',
        state: 'RUNNING',
        state_reason: null,
        nodes: 'n1',
        batch_host: 'n1',
        exit_code: null,
        exit_signal: null,
        started_at: date(T0 + 10),
        ended_at: null,
      },
      {
        task_id: 1,
        slurm_job_id: '601',
        state: 'RUNNING',
        state_reason: null,
        nodes: 'n2',
        batch_host: 'n2',
        exit_code: null,
        exit_signal: null,
        started_at: date(T0 + 12),
        ended_at: null,
      },
      {
        task_id: 2,
        slurm_job_id: null,
        state: 'PENDING',
        state_reason: 'JobArrayTaskLimit',
        nodes: null,
        batch_host: null,
        exit_code: null,
        exit_signal: null,
        started_at: null,
        ended_at: null,
      },
      {
        task_id: 3,
        slurm_job_id: null,
        state: 'PENDING',
        state_reason: 'JobArrayTaskLimit',
        nodes: null,
        batch_host: null,
        exit_code: null,
        exit_signal: null,
        started_at: null,
        ended_at: null,
      },
    ]);
    assert.equal(o.change?.state, 'RUNNING');
    assert.deepEqual(o.change?.startedAt, date(T0 + 10));
    assert.equal(o.change?.endedAt, null);
  });

  it('keeps a held remainder as one group, whatever its size (10,000 tasks are one id list, not 10,000 rows)', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: 'JobHeldUser', slurm_job_id: '600', array_size: 10000 }), [
      remainder('0-9999', { stateReason: 'JobHeldUser' }),
    ]);
    assert.equal(o.anomaly, undefined);
    assert.equal(o.change, undefined, 'nothing changed');
    assert.deepEqual(o.tasks?.listed, []);
    assert.equal(o.tasks?.pending.length, 1);
    assert.equal(o.tasks?.pending[0].taskIds.length, 10000);
    assert.deepEqual(o.tasks?.pending[0].fields, { state: 'PENDING', state_reason: 'JobHeldUser', exit_code: null, exit_signal: null, ended_at: null });
  });

  it('a task SLURM lists on its own wins over the remainder expansion, whatever the order', () => {
    for (const order of ['remainder-first', 'remainder-last']) {
      const listed = task(2, { state: 'RUNNING', startTime: T0 + 5, batchHost: 'n3', nodes: 'n3' });
      const rest = remainder('2-3');
      const records = order === 'remainder-first' ? [rest, listed] : [listed, rest];
      const o = observeJob(tracked({ slurm_job_id: '600', array_size: 2 }), records);
      assert.equal(taskRowsOf(o)?.length, 2, order);
      assert.equal(taskRowsOf(o)?.[0].task_id, 2);
      assert.equal(taskRowsOf(o)?.[0].state, 'RUNNING', order);
      assert.equal(taskRowsOf(o)?.[0].slurm_job_id, '602', order);
      assert.equal(taskRowsOf(o)?.[1].task_id, 3);
      assert.equal(taskRowsOf(o)?.[1].state, 'PENDING');
    }
  });

  it('tasks come back sorted by task id', () => {
    const o = observeJob(tracked({ slurm_job_id: '600', array_size: 3 }), [
      task(5, { state: 'RUNNING', startTime: T0 }),
      task(1, { state: 'RUNNING', startTime: T0 }),
      task(3, { state: 'RUNNING', startTime: T0 }),
    ]);
    assert.deepEqual(
      taskRowsOf(o)?.map((t) => t.task_id),
      [1, 3, 5],
    );
  });

  it('an all-pending array is PENDING with no start time even though SLURM estimates one', () => {
    const o = observeJob(tracked({ slurm_job_id: '600', array_size: 4 }), [remainder('0-3', { startTime: T0 + 3600, stateReason: 'Priority' })]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.reason, 'Priority');
    assert.equal(o.change?.startedAt, null);
    assert.equal(taskRowsOf(o)?.length, 4);
    assert.ok(taskRowsOf(o)?.every((t) => t.state === 'PENDING' && t.started_at === null && t.slurm_job_id === null));
  });

  it("startedAt of a running array comes from a task that started, never from the remainder's estimate", () => {
    // The remainder keeps the estimate it had before task 0 was split off and started.
    const o = observeJob(tracked({ state: 'PENDING', slurm_job_id: '600', array_size: 3 }), [
      task(0, { state: 'RUNNING', startTime: T0 + 100 }),
      remainder('1-2%1', { startTime: T0 + 40 }),
    ]);
    assert.equal(o.change?.state, 'RUNNING');
    assert.deepEqual(o.change?.startedAt, date(T0 + 100));
  });

  it('a listed pending task keeps its start estimate out of started_at', () => {
    const o = observeJob(tracked({ slurm_job_id: '600', array_size: 1 }), [task(0, { state: 'PENDING', startTime: T0 + 300 })]);
    assert.equal(taskRowsOf(o)?.[0].started_at, null);
  });

  it('all tasks COMPLETED: COMPLETED with the latest end time and exit code 0', () => {
    const o = observeJob(tracked({ state: 'RUNNING', slurm_job_id: '600', array_size: 2 }), [
      task(0, { state: 'COMPLETED', exitCode: 0, startTime: T0, endTime: T0 + 50 }),
      task(1, { state: 'COMPLETED', exitCode: 0, startTime: T0 + 5, endTime: T0 + 90 }),
    ]);
    assert.equal(o.change?.state, 'COMPLETED');
    assert.equal(o.change?.exitCode, 0);
    assert.equal(o.change?.exitSignal, null);
    assert.deepEqual(o.change?.startedAt, date(T0));
    assert.deepEqual(o.change?.endedAt, date(T0 + 90));
    assert.deepEqual(
      taskRowsOf(o)?.map((t) => t.ended_at),
      [date(T0 + 50), date(T0 + 90)],
    );
  });

  it('aggregate state of finished tasks is the worst one, exit code the maximum', () => {
    const o = observeJob(tracked({ state: 'RUNNING', slurm_job_id: '600', array_size: 3 }), [
      task(0, { state: 'COMPLETED', exitCode: 0, startTime: T0, endTime: T0 + 1 }),
      task(1, { state: 'FAILED', exitCode: 2, startTime: T0, endTime: T0 + 2 }),
      task(2, { state: 'FAILED', exitCode: 7, startTime: T0, endTime: T0 + 3 }),
    ]);
    assert.equal(o.change?.state, 'FAILED');
    assert.equal(o.change?.exitCode, 7);
  });

  it('TIMEOUT outranks FAILED in the aggregate', () => {
    const o = observeJob(tracked({ state: 'RUNNING', slurm_job_id: '600', array_size: 2 }), [
      task(0, { state: 'FAILED', exitCode: 1, startTime: T0, endTime: T0 + 1 }),
      task(1, { state: 'TIMEOUT', exitCode: 0, startTime: T0, endTime: T0 + 2 }),
    ]);
    assert.equal(o.change?.state, 'TIMEOUT');
  });

  it('one running task makes the array RUNNING even when others finished', () => {
    const o = observeJob(tracked({ state: 'PENDING', slurm_job_id: '600', array_size: 2 }), [
      task(0, { state: 'FAILED', exitCode: 1, startTime: T0, endTime: T0 + 1 }),
      task(1, { state: 'RUNNING', startTime: T0 + 2 }),
    ]);
    assert.equal(o.change?.state, 'RUNNING');
    assert.equal(o.change?.endedAt, null);
  });

  it('finished tasks plus a pending remainder: PENDING', () => {
    const o = observeJob(tracked({ state: 'DISPATCHING', slurm_job_id: '600', array_size: 3 }), [
      task(0, { state: 'COMPLETED', exitCode: 0, startTime: T0, endTime: T0 + 1 }),
      remainder('1-2'),
    ]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.endedAt, null);
  });

  it('tasks SLURM has not listed yet keep an unfinished array PENDING', () => {
    // Four tasks, two listed and pending: the other two are not terminal for all we know.
    const o = observeJob(tracked({ state: 'DISPATCHING', slurm_job_id: '600', array_size: 4 }), [task(0, { state: 'PENDING' }), task(1, { state: 'PENDING' })]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(taskRowsOf(o)?.length, 2);
  });

  it('tasks purged after finishing do not hold a finished array back', () => {
    // Three tasks; SLURM forgot tasks 0 and 1 (MinJobAge) and still lists task 2 as COMPLETED.
    const o = observeJob(tracked({ state: 'RUNNING', slurm_job_id: '600', array_size: 3 }), [
      task(2, { state: 'COMPLETED', exitCode: 0, startTime: T0, endTime: T0 + 9 }),
    ]);
    assert.equal(o.change?.state, 'COMPLETED');
    assert.deepEqual(o.change?.endedAt, date(T0 + 9));
  });

  it('an unknown task state is an anomaly and yields no tasks and no change', () => {
    const o = observeJob(tracked({ state: 'RUNNING', slurm_job_id: '600', array_size: 2 }), [task(0, { state: 'RUNNING' }), task(1, { state: 'WEIRD' })]);
    assert.equal(o.change, undefined);
    assert.equal(o.tasks, undefined);
    assert.match(o.anomaly ?? '', /WEIRD/);
  });

  it('an illegal array transition is an anomaly but the tasks are still returned', () => {
    const o = observeJob(tracked({ state: 'COMPLETED', slurm_job_id: '600', array_size: 1 }), [task(0, { state: 'RUNNING', startTime: T0 })]);
    assert.equal(o.change, undefined);
    assert.ok(o.anomaly);
    assert.equal(taskRowsOf(o)?.length, 1);
  });

  it('a remainder expression the parser refuses is an anomaly, not an exception', () => {
    // SLURM truncates long task strings (SLURM_BITSTR_LEN) with "...".
    let o: ReturnType<typeof observeJob> | undefined;
    assert.doesNotThrow(() => {
      o = observeJob(tracked({ state: 'PENDING', slurm_job_id: '600', array_size: 100 }), [remainder('1,3,5,7,9,11...')]);
    });
    assert.equal(o?.change, undefined);
    assert.ok(o?.anomaly);
  });

  it('reason-only change on an array (held)', () => {
    const o = observeJob(tracked({ state: 'PENDING', state_reason: null, slurm_job_id: '600', array_size: 2 }), [
      remainder('0-1', { stateReason: 'JobHeldUser' }),
    ]);
    assert.equal(o.change?.state, 'PENDING');
    assert.equal(o.change?.reason, 'JobHeldUser');
  });
});
