import type { components } from './rest/generated/slurm-v0.0.38';
import type { components as components42 } from './rest/generated/slurm-v0.0.42';
import type { SlurmJobRecord, SlurmTimestamp } from '../../core/slurm/slurm-client.port';
import { jobStateName, NO_VAL32, setNumber } from './slurm-values';

/** A job as slurmrestd v0.0.38 (and `squeue --json` on 22.05) prints it. */
export type V0038JobRecord = components['schemas']['v0.0.38_job_response_properties'];
/** A job as slurmrestd v0.0.40-v0.0.42 (and `squeue --json` on 23.11+) prints it; the fields read here are the same in all three. */
export type V0042JobRecord = components42['schemas']['v0.0.42_job_info'];

/** Base states in which the batch script has ended and `exit_code` means something. */
const FINISHED_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY']);

/**
 * Decodes the raw wait status SLURM reports as `exit_code`: `768` → code 3; `9` → killed by
 * signal 9 (code 0, as SLURM itself prints `0:9`). Sentinel values decode to nulls.
 */
export function decodeExitCode(raw: number | null | undefined): { exitCode: number | null; exitSignal: number | null } {
  if (raw === null || raw === undefined || !Number.isInteger(raw) || raw < 0 || raw >= NO_VAL32) {
    return { exitCode: null, exitSignal: null };
  }
  const signal = raw & 0x7f;
  return { exitCode: (raw >> 8) & 0xff, exitSignal: signal === 0 ? null : signal };
}

function time(value: unknown): SlurmTimestamp | null {
  const seconds = setNumber(value);
  return seconds !== null && seconds > 0 ? seconds : null;
}

/** 23.11+ prints the exit code decoded: `{status: [SUCCESS|ERROR|SIGNALED], return_code, signal: {id}}`. */
function decodedExitCode(raw: unknown): { exitCode: number | null; exitSignal: number | null } {
  if (typeof raw !== 'object' || raw === null) return decodeExitCode(raw as number | null | undefined);
  const exit = raw as { return_code?: unknown; signal?: { id?: unknown } };
  const signal = setNumber(exit.signal?.id);
  return { exitCode: setNumber(exit.return_code) ?? 0, exitSignal: signal === null || signal === 0 ? null : signal };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Maps one job record, of 22.05 or 23.11+, to the port's SlurmJobRecord (pure). */
export function toSlurmJobRecord(raw: V0038JobRecord | V0042JobRecord): SlurmJobRecord {
  if (typeof raw.job_id !== 'number') throw new Error('SLURM job record without job_id');
  const state = jobStateName(raw.job_state);
  // A pending 23.11 job reads SUCCESS / 0: only a finished job's exit code means something.
  const finished = FINISHED_STATES.has(state) || (Array.isArray(raw.job_state) && raw.job_state.some((s) => FINISHED_STATES.has(s)));
  const { exitCode, exitSignal } = finished ? decodedExitCode(raw.exit_code) : { exitCode: null, exitSignal: null };
  const record: SlurmJobRecord = {
    jobId: raw.job_id,
    name: str(raw.name),
    userName: str(raw.user_name),
    comment: str(raw.comment),
    state,
    stateReason: str(raw.state_reason),
    partition: str(raw.partition),
    nodes: str(raw.nodes),
    batchHost: str(raw.batch_host),
    exitCode,
    exitSignal,
    submitTime: time(raw.submit_time),
    startTime: time(raw.start_time),
    endTime: time(raw.end_time),
    standardOutput: str(raw.standard_output),
    standardError: str(raw.standard_error),
    workingDirectory: str(raw.current_working_directory),
  };
  const arrayJobId = setNumber(raw.array_job_id);
  if (arrayJobId !== null && arrayJobId > 0) {
    record.arrayJobId = arrayJobId;
    const taskId = setNumber(raw.array_task_id);
    if (taskId !== null && taskId >= 0) record.arrayTaskId = taskId;
  }
  if (typeof raw.array_task_string === 'string' && raw.array_task_string !== '') {
    record.arrayTaskString = raw.array_task_string;
  }
  return record;
}
