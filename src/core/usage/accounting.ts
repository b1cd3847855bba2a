/**
 * What SLURM's accounting (slurmdbd: `sacct --json` or slurmrestd `/slurmdb/v0.0.38/jobs`) says about
 * one RUN of a job: a plain job has one run, an array one per task, and a requeued job one per
 * start (the earlier runs end in state REQUEUED with a new submission time for the next).
 */
export interface AccountingRun {
  /** SLURM's id of this record (an array task has its own). */
  slurmJobId: number;
  /** For array tasks: the array's master id and this task's index. */
  arrayJobId?: number;
  arrayTaskId?: number;
  /** Base state name, e.g. COMPLETED, REQUEUED, CANCELLED. */
  state: string;
  /** The job's comment: carries our tag (src/core/dispatch/job-tag.ts). */
  comment: string;
  /**
   * The POSIX user that owns the job, or null: slurmdbd 22.05 names it only for users it has an
   * association for (`sacct --json` prints `"user": null` otherwise; there is no uid).
   */
  user: string | null;
  /** Unix seconds. */
  submitTime: number;
  /** null when this run never started. */
  startTime: number | null;
  endTime: number | null;
  elapsedSeconds: number;
  /** CPU time its processes used, user and system (sacct's TotalCPU), in seconds. */
  cpuSeconds: number;
  /** The nodes allocated to the run (expanded). */
  nodes: string[];
  /** What the run was allocated (job level). */
  allocated: Tres;
  steps: AccountingStep[];
}

export interface AccountingStep {
  /** `batch`, `extern`, `interactive` or the step number. */
  id: string;
  nodes: string[];
  elapsedSeconds: number;
  allocated: Tres;
}

/** Allocated trackable resources, as counts (memory in MiB, as SLURM counts `mem`). */
export interface Tres {
  cpu: number;
  memMb: number;
  nodes: number;
  /** `gres/gpu` total (typed and untyped). */
  gpus: number;
  /** `gres/gpu:<model>` counts, when the island tracks GPU types (AccountingStorageTRES). */
  gpusByModel: Record<string, number>;
}

export const NO_TRES: Tres = Object.freeze({ cpu: 0, memMb: 0, nodes: 0, gpus: 0, gpusByModel: Object.freeze({}) }) as Tres;

/** Reads jobs' accounting from one island. */
export interface AccountingSource {
  /**
   * Every accounting record under these SLURM job ids, in ONE request (slurmdbd answers one id or a
   * hundred in about the same ~0.4 s): an array master id brings all its tasks, a requeued job one
   * record per run. Ids accounting does not know (yet) are simply absent.
   */
  runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]>;
}

/** Whose runs these are: the array master id for array tasks, else the job's own id. */
export function masterIdOf(run: AccountingRun): number {
  return run.arrayJobId ?? run.slurmJobId;
}

/** The task a job's CPU time is recorded under when the job is not an array. */
export const WHOLE_JOB = -1;

/**
 * CPU time per array task (or for the job itself, WHOLE_JOB), summed over its runs: a requeued
 * task used CPU in each of them.
 */
export function cpuTimesOf(runs: readonly AccountingRun[]): Array<{ taskId: number; cpuSeconds: number }> {
  const byTask = new Map<number, number>();
  for (const run of runs) {
    const taskId = run.arrayTaskId ?? WHOLE_JOB;
    byTask.set(taskId, (byTask.get(taskId) ?? 0) + run.cpuSeconds);
  }
  return [...byTask].sort(([a], [b]) => a - b).map(([taskId, cpuSeconds]) => ({ taskId, cpuSeconds }));
}
