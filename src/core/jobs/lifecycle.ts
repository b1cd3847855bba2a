/**
 * The job state machine: which states are final, which observed changes we apply, which we ignore
 * as stale and which are illegal (the caller records those as anomalies), how a job array's tasks
 * add up to one state, and exit-code helpers. Pure logic, no I/O.
 *
 * How a SLURM job really moves (22.05, slurmctld job_mgr.c), which the table below follows:
 * - A job is ACCEPTED by us, then DISPATCHING while we submit it. A failed submit either is retried,
 *   or ends REJECTED (SLURM refused it) or FAILED (it can never be submitted, or retries ran out). Once SLURM has an id, anything SLURM says applies, including
 *   a first sighting as COMPLETED (a short job can start and finish between two polls).
 * - We only see snapshots, so states can be skipped: PENDING -> COMPLETED is a normal observation.
 *   Moving FORWARD (queued -> configuring -> running -> ending -> final) is always applied.
 * - Requeue (`--requeue` + node failure, PreemptMode=REQUEUE, RequeueExit, `scontrol requeue`): the
 *   job gets base state PENDING plus the REQUEUED flag, and COMPLETING while its epilog runs. Because
 *   COMPLETING takes precedence when printed, and slurmctld clears REQUEUED as soon as completing
 *   ends, a poller typically sees RUNNING -> COMPLETING -> PENDING and may never see REQUEUED. The
 *   accounting record (sacct / slurmdbd) shows the failed attempt as NODE_FAIL or PREEMPTED (or
 *   BOOT_FAIL) and then the job again as PENDING. So we accept, as the start of a new attempt:
 *     * any requeue flag (REQUEUED, REQUEUE_HOLD, REQUEUE_FED, SPECIAL_EXIT) after a state in which
 *       the job had resources, including SLURM's final states (SLURM can requeue finished batch jobs);
 *     * PENDING after COMPLETING / STAGE_OUT (a normal finish never has base state PENDING);
 *     * PENDING after NODE_FAIL, PREEMPTED or BOOT_FAIL (the states SLURM requeues by itself);
 *     * anything at all when the caller passes `evidence.requeued` (e.g. `restart_cnt` grew, which
 *       slurmctld increments on every requeue).
 * - Every other backwards move (PENDING after RUNNING, RUNNING after COMPLETING, CONFIGURING after
 *   RUNNING) is treated as a stale observation (an older snapshot processed late) and ignored.
 * - A final state never changes except through the requeue edges above. A final state seen again as
 *   something else is illegal (returned, never applied). SLURM forgetting a finished job (MinJobAge
 *   purge) is normal: LOST after a final state is ignored.
 */

import { JobState } from './job-state';

export {
  ALL_JOB_STATES,
  ARCHIPELAGO_STATES,
  JobState,
  SLURM_BASE_STATES,
  SLURM_FLAG_STATES_BY_PRECEDENCE,
  SLURM_STATES,
  UnknownSlurmStateError,
  isJobState,
  parseSlurmState,
} from './job-state';

/** The states a job never leaves (barring the documented requeue edges): what `isTerminal` tests. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set<JobState>([
  JobState.REJECTED,
  JobState.LOST,
  JobState.COMPLETED,
  JobState.CANCELLED,
  JobState.FAILED,
  JobState.TIMEOUT,
  JobState.NODE_FAIL,
  JobState.PREEMPTED,
  JobState.BOOT_FAIL,
  JobState.DEADLINE,
  JobState.OUT_OF_MEMORY,
  JobState.REVOKED,
]);

/** Flags SLURM only sets when it puts a job that had resources back in the queue. */
const REQUEUE_MARKERS: ReadonlySet<JobState> = new Set<JobState>([JobState.REQUEUED, JobState.REQUEUE_HOLD, JobState.REQUEUE_FED, JobState.SPECIAL_EXIT]);

/** Final states after which SLURM itself requeues a job that allows it (--requeue / PreemptMode=REQUEUE). */
const AUTO_REQUEUE_FINALS: ReadonlySet<JobState> = new Set<JobState>([JobState.NODE_FAIL, JobState.PREEMPTED, JobState.BOOT_FAIL]);

/** Order of progress within one attempt. Equal rank = lateral move (RUNNING <-> SUSPENDED...). */
enum Rank {
  Accepted = 0,
  Dispatching = 1,
  Queued = 2,
  Configuring = 3,
  Started = 4,
  Ending = 5,
  Final = 6,
}

const RANK: Readonly<Record<JobState, Rank>> = {
  ACCEPTED: Rank.Accepted,
  DISPATCHING: Rank.Dispatching,
  PENDING: Rank.Queued,
  REQUEUED: Rank.Queued,
  REQUEUE_FED: Rank.Queued,
  REQUEUE_HOLD: Rank.Queued,
  SPECIAL_EXIT: Rank.Queued,
  RESV_DEL_HOLD: Rank.Queued,
  CONFIGURING: Rank.Configuring,
  RUNNING: Rank.Started,
  SUSPENDED: Rank.Started,
  STOPPED: Rank.Started,
  SIGNALING: Rank.Started,
  RESIZING: Rank.Started,
  COMPLETING: Rank.Ending,
  STAGE_OUT: Rank.Ending,
  COMPLETED: Rank.Final,
  CANCELLED: Rank.Final,
  FAILED: Rank.Final,
  TIMEOUT: Rank.Final,
  NODE_FAIL: Rank.Final,
  PREEMPTED: Rank.Final,
  BOOT_FAIL: Rank.Final,
  DEADLINE: Rank.Final,
  OUT_OF_MEMORY: Rank.Final,
  REVOKED: Rank.Final,
  REJECTED: Rank.Final,
  LOST: Rank.Final,
};

/** The job will not change any more (barring the documented requeue edges). */
export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

/**
 * The state alone proves the job was given resources at least once: CONFIGURING onwards, the
 * requeue flags (only set on jobs that had resources), and the final states that can only follow an
 * allocation (COMPLETED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, PREEMPTED).
 * CANCELLED, FAILED, DEADLINE, REVOKED and LOST can happen to a job that never ran: false here,
 * look at the record's start time for those.
 */
export function hasStarted(state: JobState): boolean {
  switch (state) {
    case JobState.CONFIGURING:
    case JobState.RUNNING:
    case JobState.SUSPENDED:
    case JobState.STOPPED:
    case JobState.SIGNALING:
    case JobState.RESIZING:
    case JobState.COMPLETING:
    case JobState.STAGE_OUT:
    case JobState.REQUEUED:
    case JobState.REQUEUE_HOLD:
    case JobState.REQUEUE_FED:
    case JobState.SPECIAL_EXIT:
    case JobState.COMPLETED:
    case JobState.TIMEOUT:
    case JobState.OUT_OF_MEMORY:
    case JobState.NODE_FAIL:
    case JobState.BOOT_FAIL:
    case JobState.PREEMPTED:
      return true;
    default:
      return false;
  }
}

export interface TransitionResult {
  state: JobState;
  changed: boolean;
  /** Set when the observation was deliberately not applied. */
  ignored?: 'stale' | 'already-final';
}

export interface IllegalTransition {
  illegal: true;
  from: JobState;
  to: JobState;
  reason: string;
}

/** Extra facts the caller may have besides the two states. */
export interface TransitionEvidence {
  /** SLURM requeued the job since `current` was recorded (e.g. its `restart_cnt` grew). */
  requeued?: boolean;
}

export function isIllegalTransition(r: TransitionResult | IllegalTransition): r is IllegalTransition {
  return (r as IllegalTransition).illegal === true;
}

/**
 * Decides what to do with `observed` (a state SLURM reported, or one of our own transitions) given
 * the recorded `current`. Returns the state to store and whether it changed, or IllegalTransition.
 * Stale observations come back unchanged with `ignored: 'stale'`.
 */
export function nextState(current: JobState, observed: JobState, evidence: TransitionEvidence = {}): TransitionResult | IllegalTransition {
  if (current === observed) return { state: current, changed: false };

  const illegal = (reason: string): IllegalTransition => ({ illegal: true, from: current, to: observed, reason });
  const apply = (): TransitionResult => ({ state: observed, changed: true });
  const keep = (ignored: 'stale' | 'already-final'): TransitionResult => ({ state: current, changed: false, ignored });

  // Our own states as targets.
  switch (observed) {
    case JobState.ACCEPTED:
      // Dispatch retry: the submit failed in a way that says nothing about the job.
      return current === JobState.DISPATCHING ? apply() : illegal('only a dispatch retry returns a job to ACCEPTED');
    case JobState.DISPATCHING:
      return current === JobState.ACCEPTED ? apply() : illegal('only an ACCEPTED job can be dispatched');
    case JobState.REJECTED:
      return current === JobState.ACCEPTED || current === JobState.DISPATCHING ? apply() : illegal('a job SLURM has accepted cannot become REJECTED');
    case JobState.LOST:
      if (current === JobState.ACCEPTED) return illegal('an ACCEPTED job never reached SLURM, so SLURM cannot lose it');
      if (current === JobState.REJECTED) return illegal('a REJECTED job never reached SLURM');
      if (isTerminal(current)) return keep('already-final'); // purged after finishing: normal
      return apply();
    default:
      break;
  }

  // From here on `observed` is a SLURM state.
  if (current === JobState.ACCEPTED) {
    // Cancelled before dispatch; anything else must go through DISPATCHING.
    return observed === JobState.CANCELLED ? apply() : illegal('an ACCEPTED job has not been dispatched');
  }
  if (current === JobState.DISPATCHING) return apply(); // first sighting may be any state
  if (current === JobState.REJECTED || current === JobState.LOST) {
    return illegal(`${current} is final`);
  }

  if (isTerminal(current)) {
    if (REQUEUE_MARKERS.has(observed)) return apply();
    if (observed === JobState.PENDING && AUTO_REQUEUE_FINALS.has(current)) return apply();
    if (evidence.requeued) return apply();
    return illegal(`${current} is final and ${observed} is not a requeue`);
  }

  const from = RANK[current];
  const to = RANK[observed];
  if (to >= from) return apply(); // forward, lateral, or finishing
  // Backwards.
  if (evidence.requeued) return apply();
  if (REQUEUE_MARKERS.has(observed) && from >= Rank.Configuring) return apply();
  if (observed === JobState.PENDING && from === Rank.Ending) return apply();
  return keep('stale');
}

/**
 * Worst first. Failures of the machine (node, boot) first because they are the operator's concern
 * and the job may well be fine; then LOST (outcome unknown); then the job's own failures from the
 * most specific (out of memory, time limit, deadline) to the generic non-zero exit; then the
 * scheduler stopping it (preempted, cancelled, revoked by a federation sibling); COMPLETED last.
 */
export const ARRAY_FAILURE_PRECEDENCE: readonly JobState[] = [
  JobState.NODE_FAIL,
  JobState.BOOT_FAIL,
  JobState.LOST,
  JobState.OUT_OF_MEMORY,
  JobState.TIMEOUT,
  JobState.DEADLINE,
  JobState.FAILED,
  JobState.PREEMPTED,
  JobState.CANCELLED,
  JobState.REVOKED,
  JobState.COMPLETED,
];

const EXECUTING: ReadonlySet<JobState> = new Set<JobState>([
  JobState.CONFIGURING,
  JobState.RUNNING,
  JobState.SIGNALING,
  JobState.RESIZING,
  JobState.COMPLETING,
  JobState.STAGE_OUT,
]);

/**
 * The state of a whole job array.
 * `taskStates`: the tasks SLURM reports individually; `pendingCount`: tasks still folded into the
 * pending remainder record (e.g. `3-9%2` counts 7), which are PENDING.
 * - any task configuring, running or ending -> RUNNING;
 * - else any task SUSPENDED or STOPPED -> SUSPENDED;
 * - else any task not final (pending, held, requeued) or pendingCount > 0 -> PENDING;
 * - else (all final): all COMPLETED -> COMPLETED, otherwise the worst by ARRAY_FAILURE_PRECEDENCE.
 * Throws RangeError for an empty array, a bad pendingCount, or a task in ACCEPTED, DISPATCHING or
 * REJECTED (tasks exist only in SLURM).
 */
export function aggregateArrayState(taskStates: readonly JobState[], pendingCount: number): JobState {
  if (!Number.isInteger(pendingCount) || pendingCount < 0) {
    throw new RangeError(`pendingCount must be a non-negative integer, got ${pendingCount}`);
  }
  if (taskStates.length === 0 && pendingCount === 0) {
    throw new RangeError('a job array has at least one task');
  }
  for (const s of taskStates) {
    if (s === JobState.ACCEPTED || s === JobState.DISPATCHING || s === JobState.REJECTED) {
      throw new RangeError(`an array task cannot be ${s}`);
    }
  }
  if (taskStates.some((s) => EXECUTING.has(s))) return JobState.RUNNING;
  if (taskStates.some((s) => s === JobState.SUSPENDED || s === JobState.STOPPED)) return JobState.SUSPENDED;
  if (pendingCount > 0 || taskStates.some((s) => !isTerminal(s))) return JobState.PENDING;
  for (const candidate of ARRAY_FAILURE_PRECEDENCE) {
    if (taskStates.includes(candidate)) return candidate;
  }
  // Unreachable: every final state an array task can have is in the precedence list.
  throw new RangeError(`no precedence for task states ${taskStates.join(',')}`);
}
