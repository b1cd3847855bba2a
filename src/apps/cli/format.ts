/**
 * How the CLI prints things for people: fixed-width tables in the style of squeue/sacct/sinfo,
 * SLURM's compact state codes and durations. Pure functions; `--json` bypasses all of this.
 */

import { TERMINAL_STATES } from '../../core/jobs/lifecycle';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Numbers read better right-aligned, as squeue prints JOBID. */
  align?: 'left' | 'right';
  /** Cut longer values to this width (squeue's NAME is 8 wide by default). */
  max?: number;
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const text = c.value(row).replace(/[\r\n\t]/g, ' ');
      return c.max !== undefined && text.length > c.max ? text.slice(0, c.max) : text;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join(' ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** squeue's %t codes; our own states get codes of their own so every state prints in two or three letters. */
const COMPACT: Record<string, string> = {
  ACCEPTED: 'AC',
  DISPATCHING: 'DI',
  REJECTED: 'RJ',
  LOST: 'LO',
  PENDING: 'PD',
  RUNNING: 'R',
  SUSPENDED: 'S',
  COMPLETED: 'CD',
  CANCELLED: 'CA',
  FAILED: 'F',
  TIMEOUT: 'TO',
  NODE_FAIL: 'NF',
  PREEMPTED: 'PR',
  BOOT_FAIL: 'BF',
  DEADLINE: 'DL',
  OUT_OF_MEMORY: 'OOM',
  COMPLETING: 'CG',
  STAGE_OUT: 'SO',
  CONFIGURING: 'CF',
  RESIZING: 'RS',
  REQUEUED: 'RQ',
  REQUEUE_FED: 'RF',
  REQUEUE_HOLD: 'RH',
  SPECIAL_EXIT: 'SE',
  STOPPED: 'ST',
  REVOKED: 'RV',
  RESV_DEL_HOLD: 'RD',
  SIGNALING: 'SI',
};

export function compactState(state: string): string {
  return COMPACT[state] ?? state;
}

/** The states a job can be in before it ends: what squeue lists when no -t is given. */
export const ACTIVE_STATES = [
  'ACCEPTED',
  'DISPATCHING',
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETING',
  'CONFIGURING',
  'STAGE_OUT',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'SPECIAL_EXIT',
  'STOPPED',
  'RESV_DEL_HOLD',
  'SIGNALING',
] as const;

/** The core's final states, read as the strings the API returns. */
const ENDED: ReadonlySet<string> = TERMINAL_STATES;
const ALL_STATES: readonly string[] = [...ACTIVE_STATES, ...TERMINAL_STATES];
const BY_CODE = new Map(Object.entries(COMPACT).map(([state, code]) => [code, state]));

export function isTerminalState(state: string): boolean {
  return ENDED.has(state);
}

/**
 * squeue/sacct `-t` values: full names or compact codes, any case, comma-separated; `all` means
 * every state. Returns undefined for "all" (no filter). Throws on a name no job can have.
 */
export function parseStateList(text: string): string[] | undefined {
  const wanted = new Set<string>();
  for (const word of text
    .split(',')
    .map((w) => w.trim().toUpperCase())
    .filter(Boolean)) {
    if (word === 'ALL') return undefined;
    const state = ALL_STATES.includes(word) ? word : BY_CODE.get(word);
    if (state === undefined) throw new Error(`invalid job state "${word}" (e.g. PENDING, PD, RUNNING, R, all)`);
    wanted.add(state);
  }
  if (wanted.size === 0) throw new Error('no job state given');
  return [...wanted];
}

/** SLURM's elapsed-time form: M:SS, H:MM:SS, D-HH:MM:SS. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  if (days > 0) return `${days}-${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${seconds}`;
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`;
  return `${minutes}:${seconds}`;
}

/** --time in minutes (null: no limit) as squeue's TIME_LIMIT prints it. */
export function formatTimeLimit(minutes: number | null | undefined): string {
  if (minutes === undefined) return '';
  if (minutes === null) return 'UNLIMITED';
  return formatDuration(minutes * 60);
}

/** How long a job ran (or has been running), in seconds; 0 before it starts. */
export function elapsedSeconds(job: { startedAt: string | null; endedAt: string | null }, now: Date): number {
  if (!job.startedAt) return 0;
  const end = job.endedAt ? Date.parse(job.endedAt) : now.getTime();
  return (end - Date.parse(job.startedAt)) / 1000;
}

/** sacct's timestamp form (seconds precision), in UTC so every reader sees the same time; sacct's "Unknown" when unset. */
export function formatTimestamp(iso: string | null): string {
  return iso ? new Date(iso).toISOString().slice(0, 19) : 'Unknown';
}

/** sacct's ExitCode column: `code:signal`. */
export function formatExitCode(job: { exitCode: number | null; exitSignal: number | null }): string {
  if (job.exitCode === null && job.exitSignal === null) return '';
  return `${job.exitCode ?? 0}:${job.exitSignal ?? 0}`;
}

export interface ProblemLike {
  status?: number;
  title?: string;
  detail?: string;
  field?: string;
  errors?: Array<{ field: string; reason: string }>;
  /** What to do about it (identity refusals): printed as the API wrote it. */
  remedy?: string;
  /** A job refused at submit (422): where placement looked and why each island cannot run it. */
  placement?: { candidates?: Array<{ island?: string; rejected?: string }> };
}

/** An RFC 9457 problem as one or a few readable lines (never raw JSON). */
export function formatProblem(problem: ProblemLike, fallbackStatus: number): string {
  const status = problem.status ?? fallbackStatus;
  const head = `${problem.title ?? 'Request failed'} (HTTP ${status})`;
  const lines = [problem.detail ? `${head}: ${problem.detail}` : head];
  for (const e of problem.errors ?? []) {
    const line = `  ${e.field}: ${e.reason}`;
    if (!problem.detail?.includes(e.reason)) lines.push(line);
  }
  for (const c of problem.placement?.candidates ?? []) {
    if (typeof c.island === 'string' && typeof c.rejected === 'string') lines.push(`  island ${c.island}: ${c.rejected}`);
  }
  if (typeof problem.remedy === 'string' && problem.remedy) lines.push(`  remedy: ${problem.remedy}`);
  return lines.join('\n');
}
