/**
 * Job states: ours (before and around SLURM) plus every state SLURM 22.05 prints, and the parser
 * that turns SLURM's printed state strings into them. Pure logic, no I/O.
 *
 * SLURM keeps a job's state as a base state plus flag bits. `job_state_string()` (what squeue `%T`,
 * `scontrol show job` and slurmrestd v0.0.38 `job_state` print) returns the FIRST set flag in this
 * order, and only when no flag is set the base state:
 *   COMPLETING, STAGE_OUT, CONFIGURING, RESIZING, REQUEUED, REQUEUE_FED, REQUEUE_HOLD, SPECIAL_EXIT,
 *   STOPPED, REVOKED, RESV_DEL_HOLD, SIGNALING
 * So a finishing job reads COMPLETING (not its final state) and a job being requeued while its
 * epilog runs also reads COMPLETING (its base state is already PENDING).
 */

export const JobState = {
  // Ours, before SLURM knows the job.
  ACCEPTED: 'ACCEPTED',
  DISPATCHING: 'DISPATCHING',
  /** Refused before reaching SLURM (validation, policy, SLURM rejected the submit). Terminal. */
  REJECTED: 'REJECTED',

  // SLURM base states.
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  SUSPENDED: 'SUSPENDED',
  COMPLETED: 'COMPLETED',
  CANCELLED: 'CANCELLED',
  FAILED: 'FAILED',
  TIMEOUT: 'TIMEOUT',
  NODE_FAIL: 'NODE_FAIL',
  PREEMPTED: 'PREEMPTED',
  BOOT_FAIL: 'BOOT_FAIL',
  DEADLINE: 'DEADLINE',
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',

  // SLURM state flags that job_state_string() prints instead of the base state.
  COMPLETING: 'COMPLETING',
  STAGE_OUT: 'STAGE_OUT',
  CONFIGURING: 'CONFIGURING',
  RESIZING: 'RESIZING',
  REQUEUED: 'REQUEUED',
  REQUEUE_FED: 'REQUEUE_FED',
  REQUEUE_HOLD: 'REQUEUE_HOLD',
  SPECIAL_EXIT: 'SPECIAL_EXIT',
  STOPPED: 'STOPPED',
  /** Federation: this sibling was removed because another cluster started the job. Terminal here. */
  REVOKED: 'REVOKED',
  RESV_DEL_HOLD: 'RESV_DEL_HOLD',
  SIGNALING: 'SIGNALING',

  /** SLURM forgot a job we never saw finish. Terminal and explicit: never silently "pending". */
  LOST: 'LOST',
} as const;

export type JobState = (typeof JobState)[keyof typeof JobState];

/** Base states, in SLURM's enum order (JOB_PENDING = 0 ... JOB_OOM = 11). */
export const SLURM_BASE_STATES: readonly JobState[] = [
  JobState.PENDING,
  JobState.RUNNING,
  JobState.SUSPENDED,
  JobState.COMPLETED,
  JobState.CANCELLED,
  JobState.FAILED,
  JobState.TIMEOUT,
  JobState.NODE_FAIL,
  JobState.PREEMPTED,
  JobState.BOOT_FAIL,
  JobState.DEADLINE,
  JobState.OUT_OF_MEMORY,
];

/** Flags, in the precedence job_state_string() applies (first wins over everything after it). */
export const SLURM_FLAG_STATES_BY_PRECEDENCE: readonly JobState[] = [
  JobState.COMPLETING,
  JobState.STAGE_OUT,
  JobState.CONFIGURING,
  JobState.RESIZING,
  JobState.REQUEUED,
  JobState.REQUEUE_FED,
  JobState.REQUEUE_HOLD,
  JobState.SPECIAL_EXIT,
  JobState.STOPPED,
  JobState.REVOKED,
  JobState.RESV_DEL_HOLD,
  JobState.SIGNALING,
];

/** Every state SLURM can print. */
export const SLURM_STATES: readonly JobState[] = [...SLURM_BASE_STATES, ...SLURM_FLAG_STATES_BY_PRECEDENCE];

/** States that exist only in Archipelago. */
export const ARCHIPELAGO_STATES: readonly JobState[] = [JobState.ACCEPTED, JobState.DISPATCHING, JobState.REJECTED, JobState.LOST];

export const ALL_JOB_STATES: readonly JobState[] = [...ARCHIPELAGO_STATES, ...SLURM_STATES];

/** squeue `%t` / job_state_string_compact() codes. SLURM's own job_state_num() accepts them too. */
const COMPACT_CODES: Readonly<Record<string, JobState>> = {
  PD: JobState.PENDING,
  R: JobState.RUNNING,
  S: JobState.SUSPENDED,
  CD: JobState.COMPLETED,
  CA: JobState.CANCELLED,
  F: JobState.FAILED,
  TO: JobState.TIMEOUT,
  NF: JobState.NODE_FAIL,
  PR: JobState.PREEMPTED,
  BF: JobState.BOOT_FAIL,
  DL: JobState.DEADLINE,
  OOM: JobState.OUT_OF_MEMORY,
  CG: JobState.COMPLETING,
  SO: JobState.STAGE_OUT,
  CF: JobState.CONFIGURING,
  RS: JobState.RESIZING,
  RQ: JobState.REQUEUED,
  RF: JobState.REQUEUE_FED,
  RH: JobState.REQUEUE_HOLD,
  SE: JobState.SPECIAL_EXIT,
  ST: JobState.STOPPED,
  RV: JobState.REVOKED,
  RD: JobState.RESV_DEL_HOLD,
  SI: JobState.SIGNALING,
};

/**
 * Flags that job_state_string_complete() ("RUNNING,COMPLETING,...") may list but that
 * job_state_string() never prints: they say nothing about the job's state for us.
 */
const IGNORABLE_COMPLETE_FLAGS: ReadonlySet<string> = new Set(['LAUNCH_FAILED', 'UPDATE_DB', 'POWER_UP_NODE', 'RECONFIG_FAIL']);

const SLURM_STATE_SET: ReadonlySet<string> = new Set(SLURM_STATES);

/** Thrown for any state string we do not know. The caller records an anomaly; nothing unknown becomes PENDING. */
export class UnknownSlurmStateError extends Error {
  constructor(
    readonly raw: string,
    detail?: string,
  ) {
    super(`Unknown SLURM job state ${JSON.stringify(raw)}${detail ? `: ${detail}` : ''}`);
    this.name = 'UnknownSlurmStateError';
  }
}

/** A printable-ASCII word made of letters, digits and `_`. */
const TOKEN = /^[A-Z0-9_]+$/;

/**
 * Parses a job state as SLURM prints it:
 * - `job_state_string()` names, any case: `RUNNING`, `completing`, `OUT_OF_MEMORY`;
 * - compact codes (squeue `%t`): `PD`, `R`, `CG`, `OOM`…;
 * - sacct's `CANCELLED by 1001` (the uid that cancelled);
 * - sacct's truncated columns, `OUT_OF_ME+` / `CANCELLED+`: accepted only when the prefix names
 *   exactly one state (`REQUEUE_+` is ambiguous and throws);
 * - the complete form `PENDING,REQUEUED` / `RUNNING,COMPLETING` (or `+`/`|`-joined lists): resolved
 *   with job_state_string()'s flag precedence, exactly one base state allowed.
 * Anything else (including our own ACCEPTED/DISPATCHING/REJECTED/LOST, `?`, empty) throws
 * UnknownSlurmStateError.
 */
export function parseSlurmState(raw: string): JobState {
  if (typeof raw !== 'string') {
    throw new UnknownSlurmStateError(String(raw), 'not a string');
  }
  const text = raw.trim().toUpperCase();
  if (text === '') {
    throw new UnknownSlurmStateError(raw, 'empty');
  }

  // sacct: "CANCELLED by 1001" (uid, or a name on some builds).
  const cancelledBy = /^CANCELLED BY [A-Z0-9_.-]+$/.exec(text);
  if (cancelledBy) return JobState.CANCELLED;

  // sacct truncation: a column too narrow prints its first width-1 characters and "+".
  if (text.length >= 2 && text.endsWith('+') && !text.slice(0, -1).includes('+') && !text.includes(',')) {
    const prefix = text.slice(0, -1).trim();
    const fromTruncation = fromTruncatedName(prefix);
    if (fromTruncation !== undefined) return fromTruncation;
    throw new UnknownSlurmStateError(raw, 'truncated name matches no single state');
  }

  const parts = text.split(/[,+|]/).map((p) => p.trim());
  if (parts.length === 1) {
    const single = fromToken(parts[0] as string);
    if (single === undefined) throw new UnknownSlurmStateError(raw);
    return single;
  }

  // Complete form: one base state plus flags.
  const states: JobState[] = [];
  for (const part of parts) {
    if (part === '') throw new UnknownSlurmStateError(raw, 'empty element');
    if (IGNORABLE_COMPLETE_FLAGS.has(part)) continue;
    const state = fromToken(part);
    if (state === undefined) throw new UnknownSlurmStateError(raw, `unknown element ${JSON.stringify(part)}`);
    states.push(state);
  }
  const bases = states.filter((s) => SLURM_BASE_STATES.includes(s));
  if (bases.length > 1 && new Set(bases).size > 1) {
    throw new UnknownSlurmStateError(raw, 'more than one base state');
  }
  for (const flag of SLURM_FLAG_STATES_BY_PRECEDENCE) {
    if (states.includes(flag)) return flag;
  }
  if (bases.length === 0) throw new UnknownSlurmStateError(raw, 'no state in list');
  return bases[0] as JobState;
}

function fromToken(token: string): JobState | undefined {
  if (!TOKEN.test(token)) return undefined;
  if (SLURM_STATE_SET.has(token)) return token as JobState;
  return COMPACT_CODES[token];
}

function fromTruncatedName(prefix: string): JobState | undefined {
  if (prefix.length === 0) return undefined;
  // "CANCELLED by 1001" truncated keeps its "CANCELLED" prefix (e.g. "CANCELLED+", "CANCELLED b+").
  if (/^CANCELLED( |$)/.test(prefix) && /^CANCELLED( B| BY( [A-Z0-9_.-]*)?)?$/.test(prefix)) {
    return JobState.CANCELLED;
  }
  if (!TOKEN.test(prefix)) return undefined;
  const matches = SLURM_STATES.filter((s) => s.startsWith(prefix));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Type guard for any JobState value (ours or SLURM's). */
export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (ALL_JOB_STATES as readonly string[]).includes(value);
}
