import type { JobRow, TaskLineRow, TaskRow } from './job-rows';
import { requestedCpus } from '../sbatch/sbatch-derivations';

const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

/** The public shape of a job. Never includes the owner's environment values or other tenants' data. */
/** A part of a split array, as its parent's view lists it. */
function partView(part: JobRow) {
  return {
    id: part.id,
    island: part.island,
    tasks: part.spec.array?.expression,
    state: part.state,
    slurmJobId: part.slurm_job_id === null ? null : Number(part.slurm_job_id),
  };
}

export function jobView(row: JobRow, taskCounts?: Record<string, number>, parts?: JobRow[]) {
  return {
    id: row.id,
    name: row.name,
    /** The POSIX account the job runs as (squeue's USER column). */
    user: row.slurm_user,
    state: row.state,
    stateReason: row.state_reason,
    island: row.island,
    partition: row.partition,
    slurmJobId: row.slurm_job_id === null ? null : Number(row.slurm_job_id),
    exitCode: row.exit_code,
    exitSignal: row.exit_signal,
    /** CPU time the job used (sacct's TotalCPU, every task), once the island's accounting has it. */
    cpuSeconds: row.cpu_seconds ?? null,
    hold: row.hold,
    cancelRequested: row.cancel_requested,
    workingDirectory: row.working_directory,
    batchHost: row.batch_host,
    nodes: row.nodes,
    dependsOn: row.depends_on.map(String),
    array:
      row.array_size === null
        ? null
        : {
            size: row.array_size,
            expression: row.spec.array?.expression,
            tasks: taskCounts ?? {},
            ...(parts?.length ? { parts: parts.map(partView) } : {}),
          },
    /** Set on a part of a split array (normally only seen through its parent). */
    partOf: row.parent_id,
    options: row.spec,
    placementConstraints: row.constraints,
    submittedAt: iso(row.submitted_at),
    dispatchedAt: iso(row.dispatched_at),
    startedAt: iso(row.started_at),
    endedAt: iso(row.ended_at),
    links: {
      self: `/v1/jobs/${row.id}`,
      output: `/v1/jobs/${row.id}/output`,
      ...(row.array_size === null ? {} : { tasks: `/v1/jobs/${row.id}/tasks` }),
    },
  };
}

export function taskView(row: TaskRow) {
  return {
    taskId: row.task_id,
    slurmJobId: row.slurm_job_id === null ? null : Number(row.slurm_job_id),
    state: row.state,
    stateReason: row.state_reason,
    nodes: row.nodes,
    batchHost: row.batch_host,
    exitCode: row.exit_code,
    exitSignal: row.exit_signal,
    startedAt: iso(row.started_at),
    endedAt: iso(row.ended_at),
  };
}

/**
 * One task of an array as a line of its own, the way sacct and squeue print `<id>_<task>`: the
 * array's name, owner and request with the task's own state, times, exit and island (a split
 * array's tasks run on the islands of their parts, all under the array's one id).
 */
export function arrayTaskLine(array: JobRow, task: TaskLineRow) {
  return {
    id: `${array.id}_${task.task_id}`,
    arrayJobId: array.id,
    arrayTaskId: task.task_id,
    name: array.name,
    user: array.slurm_user,
    state: task.state,
    stateReason: task.state_reason,
    island: task.island,
    partition: task.partition,
    slurmJobId: task.slurm_job_id === null ? null : Number(task.slurm_job_id),
    exitCode: task.exit_code,
    exitSignal: task.exit_signal,
    batchHost: task.batch_host,
    nodes: task.nodes,
    /** sacct's TotalCPU for this task, once the island's accounting has it. */
    cpuSeconds: task.cpu_seconds,
    /** sacct's ReqCPUS: every task asks for the array's per-task CPUs. */
    requestedCpus: requestedCpus(array.spec),
    submittedAt: iso(array.submitted_at),
    startedAt: iso(task.started_at),
    endedAt: iso(task.ended_at),
    links: { job: `/v1/jobs/${array.id}`, output: `/v1/jobs/${array.id}/output?task=${task.task_id}` },
  };
}
