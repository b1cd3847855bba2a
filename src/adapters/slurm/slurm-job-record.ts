import type { components } from './rest/generated/slurm-v0.0.38';
import type { SlurmJobRecord, SlurmTimestamp } from '../../core/slurm/slurm-client.port';

/** A job as slurmrestd v0.0.38 (and `squeue --json` on 22.05) prints it. */
export type V0038JobRecord = components['schemas']['v0.0.38_job_response_properties'];

/** SLURM's NO_VAL / INFINITE sentinels for 32-bit fields. */
const NO_VAL32 = 0xfffffffe;
const INFINITE32 = 0xffffffff;

/** Base states in which the batch script has ended and `exit_code` means something. */
const FINISHED_STATES = new Set([
  'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY',
]);

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

function time(value: number | undefined | null): SlurmTimestamp | null {
  return typeof value === 'number' && value > 0 && value < NO_VAL32 ? value : null;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Maps one v0.0.38 job record to the port's SlurmJobRecord (pure). */
export function toSlurmJobRecord(raw: V0038JobRecord): SlurmJobRecord {
  if (typeof raw.job_id !== 'number') throw new Error('SLURM job record without job_id');
  const state = str(raw.job_state);
  const finished = FINISHED_STATES.has(state);
  const { exitCode, exitSignal } = finished ? decodeExitCode(raw.exit_code) : { exitCode: null, exitSignal: null };
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
  if (typeof raw.array_job_id === 'number' && raw.array_job_id > 0 && raw.array_job_id < NO_VAL32) {
    record.arrayJobId = raw.array_job_id;
    if (typeof raw.array_task_id === 'number' && raw.array_task_id >= 0 && raw.array_task_id < NO_VAL32) {
      record.arrayTaskId = raw.array_task_id;
    }
  }
  if (typeof raw.array_task_string === 'string' && raw.array_task_string !== '') {
    record.arrayTaskString = raw.array_task_string;
  }
  return record;
}

export { INFINITE32, NO_VAL32 };
