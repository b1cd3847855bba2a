import type { UserConstraints } from '../placement';
import { invalid } from '../common/problem';
import type { JobSpec } from '../sbatch/job-spec';
import { environmentVariableRefusal } from '../sbatch/environment-policy';
import { parseSubmission, SbatchParseError } from '../sbatch/parse-sbatch';
import { unwrapSubmission } from '../sbatch/wrap';
import { allowedRootsFor, checkFilePatternWithinRoots, checkPathWithinRoots, validateJobName } from './path-policy';

/** What a caller sends to `POST /v1/jobs`. */
export interface SubmitInput {
  /** The batch script; absent (or empty) when `options.wrap` carries the command instead. */
  script?: string;
  /**
   * The script's file name (`run.sh`, no directory), as `sbatch run.sh` knows it: the default job
   * name, and so what `%x` stands for, when no --job-name is given.
   */
  scriptName?: string;
  options?: Record<string, unknown>;
  /** The "submission environment" sbatch would inherit (`--export=ALL`); nothing else is inherited. */
  environment?: Record<string, string>;
  /** Constraints on the island (validated at the edge: labels, island names, numbers). */
  placement?: {
    regions?: string[];
    providers?: string[];
    performance?: string[];
    islands?: string[];
    excludeIslands?: string[];
    maxIslandLatencyMs?: number;
    maxPricePerCoreHour?: number;
  };
}

export interface SubmissionPolicy {
  slurmUser: string;
  workdirRoots: string[];
  defaultEnvironment: Record<string, string>;
  maxScriptBytes: number;
  partitions: ReadonlySet<string>;
}

/** A submission once parsed and checked against the caller's policy: ready to store. */
export interface NormalizedJob {
  name: string;
  script: string;
  spec: JobSpec;
  environment: Record<string, string>;
  workingDirectory: string;
  dependsOn: number[];
  arraySize: number | null;
  constraints: UserConstraints;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ENV_VARS = 512;
const MAX_ENV_BYTES = 128 * 1024;
const MAX_DEPENDENCIES = 100;
/** sbatch's job name for a script read from standard input: the API's script has no file name otherwise. */
const DEFAULT_JOB_NAME = 'sbatch';

function parse(input: SubmitInput) {
  try {
    const unwrapped = unwrapSubmission(input.script, input.options);
    return { ...parseSubmission(unwrapped.script, unwrapped.options), defaultName: unwrapped.defaultName };
  } catch (error) {
    if (error instanceof SbatchParseError) {
      const problem = invalid(error.field, error.reason);
      if (error.option) problem.extras.option = error.option;
      throw problem;
    }
    throw error;
  }
}

/** The variables the caller names (in `environment` or through `--export`): names SLURM or the loader would act on are refused. */
function checkVariables(variables: Record<string, unknown>, field: (name: string) => string, passThrough = false): void {
  for (const [name, value] of Object.entries(variables)) {
    if (!ENV_NAME.test(name)) throw invalid(field(name), 'variable names are letters, digits and _');
    const refusal = environmentVariableRefusal(name);
    if (refusal) throw invalid(field(name), refusal);
    if (passThrough && value === null) continue; // --export=NAME: taken from the submitted environment
    if (typeof value !== 'string') throw invalid(field(name), 'values must be strings');
    // NUL cannot cross exec(); CR/LF would let a value forge lines in logs and shell renderings.
    if (/[\0\r\n]/.test(value)) throw invalid(field(name), 'values may not contain NUL, CR or LF');
  }
}

function checkSize(environment: Record<string, string>): void {
  const entries = Object.entries(environment);
  if (entries.length > MAX_ENV_VARS) throw invalid('environment', `at most ${MAX_ENV_VARS} variables`);
  const bytes = entries.reduce((sum, [name, value]) => sum + name.length + value.length + 2, 0);
  if (bytes > MAX_ENV_BYTES) throw invalid('environment', `at most ${MAX_ENV_BYTES} bytes in all`);
}

/** sbatch's --export semantics applied to the submission environment the caller sent. */
function jobEnvironment(spec: JobSpec, submitted: Record<string, string>, defaults: Record<string, string>) {
  const mode = spec.export?.mode ?? 'ALL';
  const listed = spec.export?.variables ?? {};
  const environment: Record<string, string> = mode === 'ALL' ? { ...defaults, ...submitted } : {};
  for (const [name, value] of Object.entries(listed)) {
    const resolved = value ?? submitted[name] ?? (mode === 'ALL' ? defaults[name] : undefined);
    if (resolved !== undefined) environment[name] = resolved;
  }
  // sbatch records --export here and srun reads it for the job's steps: a list keeps exporting the
  // listed variables to them (their values are in the job's environment), NONE and NIL nothing.
  if (mode !== 'ALL') {
    const listed = Object.keys(environment);
    environment.SLURM_EXPORT_ENV = mode === 'NONE' && listed.length > 0 ? listed.join(',') : mode;
  }
  return environment;
}

function within(field: string, path: string, roots: string[]): string {
  const verdict = checkPathWithinRoots(path, roots);
  if (!verdict.ok) throw invalid(field, verdict.reason);
  return verdict.normalized;
}

/** Joined, not resolved: a `..` segment must reach the policy, which refuses it. */
function absolute(path: string, base: string): string {
  return path.startsWith('/') ? path : `${base}/${path}`;
}

/**
 * Output and error patterns may be relative (to the working directory) or absolute, but never
 * outside the roots, judged on the path SLURM will really open (escapes included).
 */
function checkFilePattern(field: string, pattern: string | undefined, workingDirectory: string, roots: string[]): void {
  if (pattern === undefined) return;
  const verdict = checkFilePatternWithinRoots(pattern, workingDirectory, roots);
  if (!verdict.ok) throw invalid(field, verdict.reason);
}

function dependencyIds(spec: JobSpec): number[] {
  const ids = new Set<number>();
  for (const clause of spec.dependency?.clauses ?? []) {
    for (const target of clause.targets) {
      if (!/^\d{1,18}$/.test(target.jobId)) {
        throw invalid('--dependency', `"${target.jobId}" is not an Archipelago job id`);
      }
      ids.add(Number(target.jobId));
    }
  }
  if (ids.size > MAX_DEPENDENCIES) throw invalid('--dependency', `at most ${MAX_DEPENDENCIES} jobs`);
  return [...ids];
}

export function normalizeSubmission(input: SubmitInput, policy: SubmissionPolicy): NormalizedJob {
  if (Buffer.byteLength(input.script ?? '', 'utf8') > policy.maxScriptBytes) {
    throw invalid('script', `larger than ${policy.maxScriptBytes} bytes`);
  }
  const submitted = input.environment ?? {};
  // Counted first, so an absurd environment is refused before each of its names is looked at.
  if (Object.keys(submitted).length > MAX_ENV_VARS) throw invalid('environment', `at most ${MAX_ENV_VARS} variables`);
  checkVariables(submitted, (name) => `environment.${name}`);
  checkSize(submitted);
  const { spec, script, defaultName } = parse(input);
  // A --wrap script is made here: it counts against the same limit as a script sent whole.
  if (Buffer.byteLength(script, 'utf8') > policy.maxScriptBytes)
    throw invalid('options.wrap', `the script it makes is larger than ${policy.maxScriptBytes} bytes`);
  checkVariables(spec.export?.variables ?? {}, (name) => `environment.${name}`, true);

  if (input.scriptName !== undefined) {
    const problem = validateJobName(input.scriptName);
    if (problem) throw invalid('scriptName', `a file name without a directory, as the default job name: ${problem.replace(/^job name/, 'it')}`);
  }
  const name = spec.jobName ?? defaultName ?? input.scriptName ?? DEFAULT_JOB_NAME;
  const nameProblem = validateJobName(name);
  if (nameProblem) throw invalid('--job-name', nameProblem);
  if (spec.partition !== undefined && !policy.partitions.has(spec.partition)) {
    throw invalid('--partition', `no island offers partition "${spec.partition}"`);
  }

  const roots = allowedRootsFor(policy.slurmUser, policy.workdirRoots);
  const workingDirectory = within('--chdir', spec.chdir === undefined ? roots[0] : absolute(spec.chdir, roots[0]), roots);
  checkFilePattern('--output', spec.output, workingDirectory, roots);
  checkFilePattern('--error', spec.error, workingDirectory, roots);
  checkFilePattern('--input', spec.input, workingDirectory, roots);

  const environment = jobEnvironment(spec, submitted, policy.defaultEnvironment);
  checkSize(environment);
  return {
    name,
    script,
    spec: { ...spec, jobName: name },
    environment,
    workingDirectory,
    dependsOn: dependencyIds(spec),
    arraySize: spec.array ? spec.array.taskIds.length : null,
    constraints: userConstraints(input.placement),
  };
}

/** The submitter's placement constraints as the placer reads them; empty lists mean "no constraint". */
export function userConstraints(placement: SubmitInput['placement']): UserConstraints {
  const c: UserConstraints = {};
  const list = (v: string[] | undefined) => (v && v.length ? [...new Set(v)] : undefined);
  if (!placement) return c;
  const regions = list(placement.regions);
  const providers = list(placement.providers);
  const classes = list(placement.performance);
  const islands = list(placement.islands);
  const exclude = list(placement.excludeIslands);
  if (regions) c.regions = regions;
  if (providers) c.providers = providers;
  if (classes) c.performanceClasses = classes;
  if (islands) c.islands = islands;
  if (exclude) c.excludeIslands = exclude;
  if (placement.maxIslandLatencyMs !== undefined) c.maxIslandLatencyMs = placement.maxIslandLatencyMs;
  if (placement.maxPricePerCoreHour !== undefined) c.maxPricePerCoreHour = placement.maxPricePerCoreHour;
  return c;
}
