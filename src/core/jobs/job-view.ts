import type { JobRow, TaskRow } from './job-rows';

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
