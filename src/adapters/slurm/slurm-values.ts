/**
 * SLURM prints the same facts in two shapes: 22.05 (slurmrestd v0.0.38, its CLI's --json) plain
 * numbers with NO_VAL sentinels and state strings; 23.11+ (v0.0.40-v0.0.42, their CLI's --json)
 * `{set, infinite, number}` objects and state arrays. The record mappers read both through these.
 */

/** SLURM's NO_VAL / INFINITE sentinels for 32-bit fields. */
export const NO_VAL32 = 0xfffffffe;
export const INFINITE32 = 0xffffffff;

/** A finite number SLURM set: plain below NO_VAL, or a `{set: true, infinite: false, number}` object. */
export function setNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value < NO_VAL32 ? value : null;
  if (typeof value !== 'object' || value === null) return null;
  const wrapped = value as { set?: unknown; infinite?: unknown; number?: unknown };
  if (wrapped.set !== true || wrapped.infinite === true || typeof wrapped.number !== 'number') return null;
  return wrapped.number;
}

/**
 * Flags SLURM prints instead of the base state (job_state_string's order): a job RUNNING with the
 * COMPLETING flag reads COMPLETING, as squeue shows it and as v0.0.38 reported it.
 */
const SHOWN_FLAGS = ['COMPLETING', 'CONFIGURING', 'RESIZING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'SPECIAL_EXIT', 'STAGE_OUT', 'STOPPED'];

/** A job state as one string: v0.0.38's string as is; from a 23.11+ array, a shown flag first, else the base state (the first item). */
export function jobStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  const flag = SHOWN_FLAGS.find((f) => value.includes(f));
  return flag ?? (typeof value[0] === 'string' ? value[0] : '');
}
