/**
 * squeue/scancel/sacct selection logic, pure. The API already returns only the caller's own jobs
 * (tenant isolation), so `--me` selects nothing further and `-u` can only narrow to the caller's
 * own POSIX user; state and name go to the server, the rest is filtered here.
 */

import { usage } from './exit-codes';
import { ACTIVE_STATES, parseStateList } from './format';

/** The fields of the API's job view the CLI reads. */
export interface JobView {
  id: string;
  name: string;
  user: string;
  state: string;
  stateReason: string | null;
  island: string | null;
  partition: string | null;
  slurmJobId: number | null;
  exitCode: number | null;
  exitSignal: number | null;
  batchHost: string | null;
  options: { nodes?: { min: number; max?: number }; ntasks?: number; ntasksPerNode?: number; cpusPerTask?: number; timeLimitMinutes?: number | null };
  submittedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** CPU time from the island's accounting (TotalCPU); null until it has it. */
  cpuSeconds?: number | null;
  /** Set for a job array: its size. */
  array?: { size: number } | null;
}

/** One task of an array as a line of its own, as `GET /v1/jobs?array=<id>` lists it (`<id>_<task>`). */
export interface TaskLineView {
  id: string;
  arrayTaskId: number;
  state: string;
  stateReason: string | null;
  island: string | null;
  partition: string | null;
  slurmJobId: number | null;
  exitCode: number | null;
  exitSignal: number | null;
  batchHost: string | null;
  startedAt: string | null;
  endedAt: string | null;
  cpuSeconds: number | null;
}

export interface JobFilter {
  /** undefined: every state. */
  states?: string[];
  names?: string[];
  users?: string[];
  partitions?: string[];
  islands?: string[];
  ids?: string[];
  submittedFrom?: Date;
  submittedUntil?: Date;
}

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((w) => w.trim())
        .filter(Boolean);

export function jobIds(words: readonly string[]): string[] {
  const ids = words
    .flatMap((w) => w.split(','))
    .map((w) => w.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!/^\d{1,18}$/.test(id)) throw usage(`invalid job id "${id}" (job ids are the numbers "sbatch" printed)`);
  }
  return ids;
}

/** squeue's and scancel's flags as parseArgs returns them. */
export function filterFromFlags(
  values: { user?: string; states?: string; name?: string; partition?: string; island?: string; jobs?: string },
  defaultStates: readonly string[] | undefined,
): JobFilter {
  let states: string[] | undefined;
  try {
    states = values.states === undefined ? defaultStates && [...defaultStates] : parseStateList(values.states);
  } catch (error) {
    throw usage((error as Error).message);
  }
  return {
    states,
    names: list(values.name),
    users: list(values.user),
    partitions: list(values.partition),
    islands: list(values.island),
    ids: values.jobs === undefined ? undefined : jobIds([values.jobs]),
  };
}

export const SQUEUE_DEFAULT_STATES = ACTIVE_STATES;

/** The query string for GET /v1/jobs: what the server can filter itself. */
export function listQuery(filter: JobFilter, limit: number, cursor?: string): string {
  const query = new URLSearchParams();
  if (filter.states) query.set('state', filter.states.join(','));
  if (filter.islands?.length === 1) query.set('island', filter.islands[0]);
  if (filter.names?.length === 1) query.set('name', filter.names[0]);
  query.set('limit', String(limit));
  if (cursor) query.set('cursor', cursor);
  return query.toString();
}

export function matches(job: JobView, filter: JobFilter): boolean {
  if (filter.states && !filter.states.includes(job.state)) return false;
  if (filter.names && !filter.names.includes(job.name)) return false;
  if (filter.users && !filter.users.includes(job.user)) return false;
  if (filter.partitions && !(job.partition !== null && filter.partitions.includes(job.partition))) return false;
  if (filter.islands && !(job.island !== null && filter.islands.includes(job.island))) return false;
  if (filter.ids && !filter.ids.includes(job.id)) return false;
  const submitted = Date.parse(job.submittedAt);
  if (filter.submittedFrom && submitted < filter.submittedFrom.getTime()) return false;
  if (filter.submittedUntil && submitted > filter.submittedUntil.getTime()) return false;
  return true;
}

const UNIT_SECONDS: Array<[RegExp, number]> = [
  [/^(s|sec|secs|second|seconds)?$/, 1],
  [/^(m|min|mins|minute|minutes)$/, 60],
  [/^(h|hour|hours)$/, 3600],
  [/^(d|day|days)$/, 86400],
  [/^(w|week|weeks)$/, 7 * 86400],
];

/**
 * sacct's -S/-E times: `now`, `now-N[unit]` / `now+N[unit]` (seconds by default, as SLURM reads
 * it), `today`, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]` (local time, like SLURM).
 */
export function parseSlurmTime(text: string, now: Date): Date {
  const value = text.trim().toLowerCase();
  const relative = /^now(?:([+-])(\d+)([a-z]*))?$/.exec(value);
  if (relative) {
    if (!relative[1]) return new Date(now);
    const unit = UNIT_SECONDS.find(([pattern]) => pattern.test(relative[3]));
    if (!unit) throw usage(`invalid time unit "${relative[3]}" in "${text}" (seconds, minutes, hours, days, weeks)`);
    const seconds = Number(relative[2]) * unit[1] * (relative[1] === '-' ? -1 : 1);
    return new Date(now.getTime() + seconds * 1000);
  }
  if (value === 'today' || value === 'midnight') return startOfDay(now);
  const absolute = /^(\d{4})-(\d{2})-(\d{2})(?:t(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value);
  if (absolute) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = absolute;
    const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (!Number.isNaN(date.getTime()) && date.getMonth() === Number(mo) - 1) return date;
  }
  throw usage(`invalid time "${text}" (use YYYY-MM-DD[THH:MM[:SS]], today, now or now-N[minutes|hours|days])`);
}

export function startOfDay(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}
