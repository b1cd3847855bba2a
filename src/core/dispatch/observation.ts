import type { PendingTaskFields, StateChange, TaskRow } from '../jobs/job-rows';
import { aggregateArrayState, hasStarted, isIllegalTransition, isTerminal, JobState, nextState, parseSlurmState } from '../jobs/lifecycle';
import { parseArrayExpression } from '../sbatch/array-expression';
import type { SlurmJobRecord } from '../slurm/slurm-client.port';

/** What the follower knows of one of our jobs before looking at SLURM. */
export interface TrackedJob {
  state: JobState;
  state_reason: string | null;
  slurm_job_id: string | null;
  array_size: number | null;
}

export type TaskUpsert = Omit<TaskRow, 'job_id'>;

/**
 * Tasks SLURM lists only as an array's pending remainder (`3-9999%2`): one record for all of them, so
 * they stay one group here, and a remainder that did not change costs its follower nothing.
 */
export interface PendingTasks {
  /** Sorted; without the tasks SLURM also lists on their own. */
  taskIds: number[];
  fields: PendingTaskFields;
}

/** An array's tasks as SLURM lists them now. */
export interface ArrayTasks {
  /** Tasks listed one by one (started, finished, or split off the remainder), sorted by task id. */
  listed: TaskUpsert[];
  pending: PendingTasks[];
}

export interface Observation {
  change?: StateChange;
  tasks?: ArrayTasks;
  /** Something SLURM said that we refuse to apply (unknown state, illegal transition). */
  anomaly?: string;
}

const at = (unix: number | null) => (unix ? new Date(unix * 1000) : null);
const reasonOf = (record: SlurmJobRecord) => (record.stateReason && record.stateReason !== 'None' ? record.stateReason : null);

function arrayTasks(records: SlurmJobRecord[]): { tasks: ArrayTasks; anomaly?: undefined } | { anomaly: string } {
  const listed = new Map<number, TaskUpsert>();
  const remainders: PendingTasks[] = [];
  for (const record of records) {
    let state: JobState;
    try {
      state = parseSlurmState(record.state);
    } catch (error) {
      return { anomaly: (error as Error).message };
    }
    const fields: PendingTaskFields = {
      state,
      state_reason: reasonOf(record),
      exit_code: record.exitCode,
      exit_signal: record.exitSignal,
      ended_at: isTerminal(state) ? at(record.endTime) : null,
    };
    if (record.arrayTaskId !== undefined && record.arrayTaskId !== null) {
      listed.set(record.arrayTaskId, {
        task_id: record.arrayTaskId,
        slurm_job_id: String(record.jobId),
        ...fields,
        nodes: record.nodes || null,
        batch_host: record.batchHost || null,
        // For a pending job SLURM's start time is only an estimate.
        started_at: ran(state, record) ? at(record.startTime) : null,
      });
    } else if (record.arrayTaskString) {
      try {
        remainders.push({ taskIds: parseArrayExpression(record.arrayTaskString).taskIds, fields });
      } catch (error) {
        // E.g. a task string SLURM truncated ("1,3,5..."): refuse it like an unknown state.
        return { anomaly: `array task string ${JSON.stringify(record.arrayTaskString)}: ${(error as Error).message}` };
      }
    }
  }
  // A task SLURM lists on its own wins over the pending remainder's expansion.
  const pending = remainders
    .map((r) => ({ ...r, taskIds: listed.size ? r.taskIds.filter((id) => !listed.has(id)) : r.taskIds }))
    .filter((r) => r.taskIds.length > 0);
  return { tasks: { listed: [...listed.values()].sort((a, b) => a.task_id - b.task_id), pending } };
}

function arrayObservation(job: TrackedJob, records: SlurmJobRecord[]): { observed: JobState; tasks: ArrayTasks; record: SlurmJobRecord } | { anomaly: string } {
  const result = arrayTasks(records);
  if (result.anomaly !== undefined) return { anomaly: result.anomaly };
  const { tasks } = result;
  // Only which states occur matters to the aggregate: one per remainder stands for all its tasks.
  const known = [...tasks.listed.map((t) => t.state), ...tasks.pending.map((p) => p.fields.state)];
  const seen = tasks.listed.length + tasks.pending.reduce((n, p) => n + p.taskIds.length, 0);
  // Tasks SLURM has not listed (purged after finishing) count as pending only if never seen; the
  // caller's stored rows keep their final state, so only the listed ones decide here.
  const missing = Math.max(0, (job.array_size ?? 0) - seen);
  const observed = aggregateArrayState(known, missing > 0 && known.every((s) => !isTerminal(s)) ? missing : 0);
  // Only tasks that really started count: a pending record's start time is SLURM's estimate.
  const started = new Map(tasks.listed.map((t) => [`${t.task_id}:${t.slurm_job_id}`, t.started_at]));
  const startOf = (r: SlurmJobRecord) => started.get(`${r.arrayTaskId}:${r.jobId}`)?.getTime() ?? Infinity;
  const first = records.reduce((a, b) => (startOf(a) <= startOf(b) ? a : b));
  return { observed, tasks, record: first };
}

/** The earliest start among tasks that started (their started_at is only set once they have). */
/**
 * Whether the job (or task) ran: its state proves it, or it ended (FAILED, CANCELLED...) with nodes
 * allocated. A job cancelled while pending gets a start time equal to its end time but no nodes.
 */
function ran(state: JobState, record: SlurmJobRecord): boolean {
  return hasStarted(state) || (isTerminal(state) && Boolean(record.nodes) && Boolean(record.startTime));
}

function firstStart(tasks: TaskUpsert[]): Date | null {
  const starts = tasks.flatMap((t) => (t.started_at ? [t.started_at.getTime()] : []));
  return starts.length ? new Date(Math.min(...starts)) : null;
}

/**
 * Compares what SLURM reports for one of our jobs (one record, or one per array task) with what
 * we stored, and returns the change to write. Pure: the follower does the I/O.
 */
export function observeJob(job: TrackedJob, records: SlurmJobRecord[]): Observation {
  let observed: JobState;
  let record: SlurmJobRecord;
  let tasks: ArrayTasks | undefined;
  if (job.array_size !== null) {
    const result = arrayObservation(job, records);
    if (!('observed' in result)) return { anomaly: result.anomaly };
    ({ observed, record, tasks } = result);
  } else {
    record = records.find((r) => String(r.jobId) === job.slurm_job_id) ?? records[0];
    try {
      observed = parseSlurmState(record.state);
    } catch (error) {
      return { anomaly: (error as Error).message };
    }
  }
  const verdict = nextState(job.state, observed);
  if (isIllegalTransition(verdict)) {
    return { tasks, anomaly: `SLURM reports ${observed} after ${job.state}: ${verdict.reason}` };
  }
  // Same state, new reason (a hold, a dependency wait): worth recording, not a transition.
  const reasonChanged = !verdict.ignored && reasonOf(record) !== job.state_reason;
  if (!verdict.changed && !reasonChanged) return { tasks };
  const ended = isTerminal(verdict.state);
  const exitCodes = tasks ? [...tasks.listed, ...tasks.pending.map((p) => p.fields)].map((t) => t.exit_code).filter((c): c is number => c !== null) : [];
  const endTimes = records.map((r) => r.endTime ?? 0);
  return {
    tasks,
    change: {
      state: verdict.state,
      reason: reasonOf(record),
      exitCode: tasks ? (exitCodes.length ? Math.max(...exitCodes) : null) : record.exitCode,
      exitSignal: tasks ? null : record.exitSignal,
      batchHost: record.batchHost || null,
      nodes: tasks ? null : record.nodes || null,
      partition: record.partition || null,
      startedAt: !ran(verdict.state, record) ? null : tasks ? firstStart(tasks.listed) : at(record.startTime),
      endedAt: ended ? (at(Math.max(...endTimes)) ?? new Date()) : null,
    },
  };
}
