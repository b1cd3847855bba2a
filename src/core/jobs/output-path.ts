/**
 * Where a batch job's stdout/stderr land: SLURM's filename patterns, expanded the way slurmstepd
 * 22.05 does it for the batch step (src/slurmd/common/fname.c), so that the path policy checks the
 * file SLURM will really open. Pure logic, no I/O.
 *
 * Rules (sbatch(1) "filename pattern", plus what slurmstepd actually does):
 * - `%%` -> `%`.
 * - `%A` array master job id, or the job id when the job is not an array task.
 * - `%a` array task id; for a job that is not an array task SLURM prints NO_VAL, `4294967294`.
 * - `%j` job id. `%J` "jobid.stepid": for the batch step slurmstepd prints the job id alone (it
 *   omits the suffix when the step is SLURM_BATCH_SCRIPT); the default `slurm-%J.out` relies on it.
 * - `%s` step id: `batch` for the batch step (never padded).
 * - `%N` short host name of the node running the batch script; `%n` node index (0); `%t` task rank (0).
 * - `%u` user name, `%x` job name (never padded).
 * - `%<digits><letter>` zero-pads numeric values to that width, at most 10 (`%4a` -> `0007`,
 *   `%12j` pads to 10). The width is ignored for `%N %u %x %s`.
 * - An unknown letter is left as written (`%z` stays `%z`). slurmstepd quirk kept on purpose: with
 *   a width and an unknown letter it drops the `%` and all digits but the last (`%4z` -> `4z`), and a
 *   pattern ending in `%<digits>` keeps only the last digit (`a%12` -> `a2`).
 * - A backslash anywhere disables ALL expansion: `\\` becomes `\`, every other `\` is removed.
 *   slurmstepd quirk kept on purpose: a relative escaped pattern is glued to the working directory
 *   WITHOUT a `/` (`/home/alice` + `out\.log` -> `/home/aliceout.log`). Run the path policy on the
 *   result: this is exactly how a pattern could leave a user's root.
 * - A pattern that is only a number N (e.g. `3`) means "task N only"; the batch script is task 0,
 *   so any N other than 0 sends the stream to `/dev/null`.
 * - A relative pattern is relative to the job's working directory; slurmstepd adds a `/` unless the
 *   directory already ends with one. No normalization is done (`a/../b` is opened as written).
 */

import type { JobSpec } from '../sbatch/job-spec';

/** SLURM's NO_VAL (0xfffffffe): what `%a` prints for a job that is not an array task. */
export const SLURM_NO_VAL = 4294967294;

/** Largest zero-padding width slurmstepd honours. */
export const MAX_PAD_WIDTH = 10;

export interface FilenameContext {
  /** This job's (or array task's) own job id. */
  jobId: number;
  /** For an array task: the array's master job id. */
  arrayJobId?: number;
  /** For an array task: its index. Undefined means "not an array task". */
  arrayTaskId?: number;
  jobName: string;
  user: string;
  /** The batch host. Only needed when the pattern uses `%N`. */
  nodeName?: string;
}

export class FilenamePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilenamePatternError';
  }
}

/** sbatch's default when --output is not given (what jobs dispatched before Archipelago named its own wrote to). */
export function slurmDefaultOutputPattern(isArray: boolean): string {
  return isArray ? 'slurm-%A_%a.out' : 'slurm-%j.out';
}

/**
 * Archipelago's default when the submitter gives no --output: our job id (for a part of a split
 * array, the array's own id), then SLURM's. SLURM's `slurm-%j.out` alone is not enough: every island
 * counts SLURM ids on its own, so two islands sharing a filesystem would write two jobs' output into
 * one file. Our id alone is unique within one control plane only; with SLURM's too, two control
 * planes sharing a filesystem collide only when both ids coincide.
 */
export function archipelagoOutputPattern(jobId: string, isArray: boolean): string {
  if (!/^\d{1,18}$/.test(jobId)) throw new FilenamePatternError(`invalid job id ${JSON.stringify(jobId)}`);
  return isArray ? `archipelago-${jobId}-%A_%a.out` : `archipelago-${jobId}-%j.out`;
}

/**
 * `%A` (with any width) written as the given array id, everything else left for SLURM to expand
 * (`%%` stays `%%`; a pattern with a backslash is not expanded at all, so it is left as is). The
 * parts of an array split across islands are separate SLURM arrays with ids of their own: sent
 * with `%A` pinned to Archipelago's array id, every task's file carries one `%A`, as with one sbatch.
 */
export function pinArrayJobId(pattern: string, arrayJobId: number): string {
  if (pattern.includes('\\')) return pattern;
  return pattern.replace(/%(?:%|(\d*)A)/g, (token, digits: string | undefined) =>
    token === '%%' ? token : String(arrayJobId).padStart(Math.min(Number(digits || 0), MAX_PAD_WIDTH), '0'),
  );
}

/**
 * Expands `pattern` as slurmstepd does for the batch step, without the working-directory part:
 * the result is relative when the pattern is. Throws FilenamePatternError for an empty pattern, a
 * bad context, or `%N` without `ctx.nodeName`.
 */
export function expandFilenamePattern(pattern: string, ctx: FilenameContext): string {
  return expandName(pattern, ctx);
}

/**
 * Joins an already expanded file name to the job's working directory (which must be absolute) the
 * way slurmstepd does: an absolute name is kept, a relative one gets the directory plus `/` (no `/`
 * added when the directory already ends with one). No normalization. Use jobFilePath() when you
 * still have the pattern: only it knows the escaped-pattern quirk.
 */
export function resolveJobFilePath(path: string, workingDirectory: string): string {
  checkWorkingDirectory(workingDirectory);
  if (typeof path !== 'string' || path === '') throw new FilenamePatternError('a file name cannot be empty');
  if (path.startsWith('/')) return path;
  return (workingDirectory.endsWith('/') ? workingDirectory : `${workingDirectory}/`) + path;
}

/**
 * The absolute path slurmstepd opens for the raw `pattern` in `workingDirectory`: expansion, the
 * single-task rule, and the backslash rule with its no-separator join. Without `ctx` the `%`
 * symbols are kept (a template such as `/home/alice/slurm-%j.out`, e.g. before the job id is known).
 */
export function jobFilePath(pattern: string, workingDirectory: string, ctx?: FilenameContext): string {
  checkWorkingDirectory(workingDirectory);
  const name = expandName(pattern, ctx);
  if (name === DEV_NULL || pattern.startsWith('/')) return name;
  if (pattern.includes('\\')) return workingDirectory + name; // slurmstepd: no separator here
  return resolveJobFilePath(name, workingDirectory);
}

/**
 * The batch script's stdout and stderr files. stdout goes where --output says, else to the pattern
 * the job was submitted with in its place (`defaultOutput`, see archipelagoOutputPattern), else to
 * SLURM's default; stderr goes to stdout's file when --error is not given. For an array job, `ctx`
 * must name the task (arrayJobId and arrayTaskId).
 */
export function outputFiles(
  spec: Pick<JobSpec, 'output' | 'error' | 'array'>,
  ctx: FilenameContext,
  cwd: string,
  defaultOutput?: string | null,
): { stdout: string; stderr: string } {
  if (spec.array !== undefined && ctx.arrayTaskId === undefined) {
    throw new FilenamePatternError('an array job writes one file per task: give arrayJobId and arrayTaskId');
  }
  const isArray = ctx.arrayTaskId !== undefined;
  const stdout = jobFilePath(spec.output ?? defaultOutput ?? slurmDefaultOutputPattern(isArray), cwd, ctx);
  const stderr = spec.error !== undefined ? jobFilePath(spec.error, cwd, ctx) : stdout;
  return { stdout, stderr };
}

// ---------------------------------------------------------------------------------------------

const DEV_NULL = '/dev/null';
const UINT32_MAX = 0xffffffff;

function checkWorkingDirectory(workingDirectory: string): void {
  if (typeof workingDirectory !== 'string' || !workingDirectory.startsWith('/')) {
    throw new FilenamePatternError(`working directory must be absolute, got ${JSON.stringify(workingDirectory)}`);
  }
}

function expandName(pattern: string, ctx: FilenameContext | undefined): string {
  if (typeof pattern !== 'string' || pattern === '') {
    throw new FilenamePatternError('a filename pattern cannot be empty');
  }
  const task = singleTaskIo(pattern);
  if (task !== null && task !== 0) return DEV_NULL; // the batch script is task 0
  if (pattern.includes('\\')) return removeEscapes(pattern);
  if (ctx === undefined) return pattern;
  checkContext(ctx);
  return scan(pattern, (letter, width) => substitute(letter, width, ctx));
}

/**
 * Walks the pattern with slurmstepd's batch-step rules. `valueFor` returns the replacement for a
 * letter (already padded), or undefined for a letter it does not know (left as written).
 */
function scan(s: string, valueFor: (letter: string, width: number) => string | undefined): string {
  let out = '';
  let q = 0; // start of text not yet copied
  let p = 0;
  const n = s.length;
  while (p < n) {
    if (s[p] !== '%') {
      p++;
      continue;
    }
    if (s[p + 1] === '%') {
      out += s.slice(q, p + 1); // keep one '%'
      p += 2;
      q = p;
      continue;
    }
    p++;
    let width = 0;
    if (isDigit(s[p])) {
      out += s.slice(q, p - 1); // text before the '%'
      let end = p;
      while (isDigit(s[end])) end++;
      const requested = Number(s.slice(p, end));
      width = requested > MAX_PAD_WIDTH ? MAX_PAD_WIDTH : requested;
      p = end;
      q = p - 1; // slurmstepd resumes copying at the last digit
      if (p >= n) break;
    }
    const value = p < n ? valueFor(s[p] as string, width) : undefined;
    if (value !== undefined) {
      out += s.slice(q, p - 1) + value;
      p++;
      q = p;
    }
    // Unknown letter: nothing consumed; the text from q onwards is copied as written.
  }
  return out + s.slice(q);
}

function substitute(letter: string, width: number, ctx: FilenameContext): string | undefined {
  const pad = (v: number): string => String(v).padStart(width, '0');
  switch (letter) {
    case 'a':
      return pad(ctx.arrayTaskId ?? SLURM_NO_VAL);
    case 'A':
      return pad(ctx.arrayTaskId === undefined ? ctx.jobId : (ctx.arrayJobId as number));
    case 'j':
    case 'J': // batch step: no ".stepid" suffix
      return pad(ctx.jobId);
    case 'n': // node index of the batch host within the job
    case 't': // task rank of the batch script
      return pad(0);
    case 's':
      return 'batch';
    case 'N':
      if (ctx.nodeName === undefined || ctx.nodeName === '') {
        throw new FilenamePatternError('%N needs the batch host (nodeName), unknown until the job starts');
      }
      return shortHostName(ctx.nodeName);
    case 'u':
      return ctx.user;
    case 'x':
      return ctx.jobName;
    default:
      return undefined;
  }
}

function shortHostName(host: string): string {
  const dot = host.indexOf('.');
  return dot > 0 ? host.slice(0, dot) : host;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** `\\` -> `\`, any other `\` removed (slurmstepd's remove_path_slashes). */
function removeEscapes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      if (s[i + 1] === '\\') {
        out += '\\';
        i++;
      }
      continue;
    }
    out += s[i];
  }
  return out;
}

/**
 * fname_single_task_io(): when the whole pattern parses with C's strtoul, the task number it names
 * (as the C int it is cast to); otherwise null. A leading '-' or a value that does not fit gives a
 * negative int in C, i.e. "not a task number": null here too.
 */
function singleTaskIo(pattern: string): number | null {
  const m = /^[ \t\n\v\f\r]*\+?([0-9]+)$/.exec(pattern);
  if (!m) return null;
  const value = BigInt(m[1] as string);
  if (value >= 1n << 64n) return null; // strtoul saturates to ULONG_MAX -> (int) -1
  const asInt = Number(BigInt.asIntN(32, value));
  return asInt < 0 ? null : asInt;
}

function checkContext(ctx: FilenameContext): void {
  const id = (name: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
      throw new FilenamePatternError(`${name} must be an unsigned 32-bit integer, got ${String(v)}`);
    }
  };
  id('jobId', ctx.jobId);
  if (ctx.arrayTaskId !== undefined) {
    id('arrayTaskId', ctx.arrayTaskId);
    if (ctx.arrayJobId === undefined) throw new FilenamePatternError('arrayTaskId given without arrayJobId');
    id('arrayJobId', ctx.arrayJobId);
  } else if (ctx.arrayJobId !== undefined) {
    throw new FilenamePatternError('arrayJobId given without arrayTaskId');
  }
  if (typeof ctx.jobName !== 'string') throw new FilenamePatternError('jobName must be a string');
  if (typeof ctx.user !== 'string' || ctx.user === '') throw new FilenamePatternError('user must be a non-empty string');
}
