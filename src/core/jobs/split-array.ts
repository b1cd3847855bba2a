import type { ArraySpec, JobSpec } from '../sbatch/job-spec';
import { aggregateArrayState, isTerminal, JobState } from './lifecycle';

/**
 * A split array: the job the user submitted stays their one job; each part is a hidden child job
 * running a slice of the task ids as its own SLURM array on its own island. Pure logic.
 */
export interface PartPlan {
  island: string;
  partition: string;
  taskIds: number[];
  expression: string;
  maxRunning: number | null;
}

/** The part's sbatch spec: the parent's, with the array narrowed to the part's tasks (same task ids). */
export function partSpec(parent: JobSpec, part: PartPlan): JobSpec {
  const array: ArraySpec = { expression: part.expression, taskIds: part.taskIds, ...(part.maxRunning !== null ? { maxRunning: part.maxRunning } : {}) };
  return { ...parent, partition: part.partition, array };
}

export interface PartState {
  state: JobState;
  startedAt: Date | null;
  endedAt: Date | null;
  exitCode: number | null;
}

export interface SplitJobState {
  state: JobState;
  reason: string;
  startedAt: Date | null;
  endedAt: Date | null;
  exitCode: number | null;
}

/** What a part counts as among array task states (a part not yet in SLURM is pending; a refused one failed). */
function asTaskState(state: JobState): JobState {
  if (state === JobState.ACCEPTED || state === JobState.DISPATCHING) return JobState.PENDING;
  if (state === JobState.REJECTED) return JobState.FAILED;
  return state;
}

/** The user's job from its parts, by the same rules as an array from its tasks. */
export function splitJobState(parts: PartState[]): SplitJobState {
  if (parts.length === 0) throw new RangeError('a split job has parts');
  const state = aggregateArrayState(
    parts.map((p) => asTaskState(p.state)),
    0,
  );
  const started = parts.map((p) => p.startedAt?.getTime()).filter((t): t is number => t !== undefined);
  const ended = parts.map((p) => p.endedAt?.getTime()).filter((t): t is number => t !== undefined);
  const exits = parts.map((p) => p.exitCode).filter((c): c is number => c !== null);
  const done = parts.filter((p) => isTerminal(p.state)).length;
  return {
    state,
    reason: `${done} of ${parts.length} parts finished`,
    startedAt: started.length ? new Date(Math.min(...started)) : null,
    endedAt: isTerminal(state) && ended.length ? new Date(Math.max(...ended)) : null,
    exitCode: isTerminal(state) && exits.length ? Math.max(...exits) : null,
  };
}
