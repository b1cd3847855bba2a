import type { components } from './generated/slurm-v0.0.38';
import { submitFeaturesOf } from '../../../core/sbatch/submit-features';
import type { SlurmSubmitRequest } from '../../../core/slurm/slurm-client.port';
import type { JobSpec } from '../../../core/sbatch/job-spec';
import { SlurmInexpressibleError, SlurmRejectedError } from '../../../core/slurm/slurm-client.port';
import { renderDependency } from '../../../core/sbatch/render-dependency';
import { renderNodeRange } from '../../../core/sbatch/render-sbatch-argv';
import { isEnvName } from '../../../core/sbatch/render-shell';
import { storedEnvironmentRefusal } from '../../../core/sbatch/environment-policy';
import { sbatchDerivedEnvironment } from '../../../core/sbatch/job-environment';
import { impliedTaskCount } from '../../../core/sbatch/sbatch-derivations';
import { SLURM_ERR } from '../slurm-errors';

type SpecJobProperties = components['schemas']['v0.0.38_job_properties'];

/**
 * v0.0.38 job properties as slurmrestd 22.05 really accepts them: the spec types `nodes` as
 * `integer[2]` (silently ignored at runtime; a string `"1-2"` works) and `time_limit` only as an
 * integer (the server also takes `"UNLIMITED"`, like sbatch's --time). Everything else is the
 * generated type.
 */
export type RestJobProperties = Omit<SpecJobProperties, 'nodes' | 'time_limit' | 'environment' | 'exclusive' | 'begin_time'> & {
  nodes?: string;
  time_limit?: number | 'UNLIMITED';
  environment: Record<string, string>;
  /** The spec's `"true"` is refused ("Invalid exclusive specification"); sbatch's `exclusive` works. */
  exclusive?: 'exclusive' | 'user' | 'mcs';
  /** The spec says unix seconds; sbatch's --begin syntax (`now+1hour`, ISO times) works too. */
  begin_time?: number | string;
  /** `requeue` is a flag: `requeue: false` still requeues. `no_requeue: true` turns it off. */
  no_requeue?: true;
};

export type RestJobSubmission = Omit<components['schemas']['v0.0.38_job_submission'], 'job' | 'jobs'> & {
  job: RestJobProperties;
};

/**
 * Maps a submit request to the body of `POST /slurm/v0.0.38/job/submit` (pure). Only keys the
 * server accepts are emitted (an unknown key is an HTTP 400). `spec.export` is not sent: the
 * environment dict is already final, and slurmrestd disables `export`. `spec.chdir` is ignored in
 * favour of `workingDirectory`, which is always sent (otherwise the job runs in slurmrestd's cwd).
 * `submitHost` is the host the job counts as submitted from (SLURM_SUBMIT_HOST).
 */
export function toJobSubmission(request: SlurmSubmitRequest, submitHost: string): RestJobSubmission {
  checkScriptAndDirectory(request);
  return { script: request.script, job: toJobProperties(request, submitHost) };
}

/** What slurmrestd (every version) does not check itself: the job would fail later, or run in slurmrestd's directory. */
export function checkScriptAndDirectory(request: SlurmSubmitRequest): void {
  if (!request.script.startsWith('#!')) throw new SlurmRejectedError('script must start with #!', undefined);
  if (!request.workingDirectory || !request.workingDirectory.startsWith('/')) {
    throw new SlurmRejectedError(`working directory must be an absolute path, got ${JSON.stringify(request.workingDirectory)}`, undefined);
  }
}

/**
 * The job's environment as slurmrestd takes it: the stored one (checked again: rows may predate
 * the rules) plus what sbatch would have added itself, which slurmrestd does not
 * (SLURM_CPUS_PER_TASK, SLURM_SUBMIT_DIR…). Every API version.
 */
export function submittedEnvironment(request: SlurmSubmitRequest, submitHost: string): Record<string, string> {
  return { ...checkEnvironment(request.environment), ...sbatchDerivedEnvironment(request.spec, { submitDir: request.workingDirectory, submitHost }) };
}

export function toJobProperties(request: SlurmSubmitRequest, submitHost: string): RestJobProperties {
  const { spec } = request;
  const inexpressible = notExpressibleInV0038(spec);
  if (inexpressible) throw new SlurmInexpressibleError(inexpressible);
  checkScriptAndDirectory(request);
  const environment = submittedEnvironment(request, submitHost);
  const job: RestJobProperties = { environment, current_working_directory: request.workingDirectory };
  const set = <K extends keyof RestJobProperties>(key: K, value: RestJobProperties[K] | undefined) => {
    if (value !== undefined) job[key] = value;
  };

  set('name', spec.jobName);
  set('partition', spec.partition);
  set('account', spec.account);
  set('qos', spec.qos);
  set('reservation', spec.reservation);
  set('comment', request.comment || spec.comment);

  if (spec.nodes) job.nodes = renderNodeRange(spec.nodes);
  set('tasks', spec.ntasks ?? impliedTaskCount(spec));
  set('tasks_per_node', spec.ntasksPerNode);
  set('cpus_per_task', spec.cpusPerTask);
  set('threads_per_core', spec.threadsPerCore);
  set('memory_per_node', spec.memPerNodeMb);
  set('memory_per_cpu', spec.memPerCpuMb);
  set('memory_per_gpu', spec.memPerGpuMb);
  if (spec.timeLimitMinutes === null) job.time_limit = 'UNLIMITED';
  else set('time_limit', spec.timeLimitMinutes);
  set('time_minimum', spec.timeMinMinutes);

  set('gres', spec.gres);
  set('gpus', spec.gpus);
  set('gpus_per_node', spec.gpusPerNode);
  set('gpus_per_task', spec.gpusPerTask);
  set('constraints', spec.constraint);
  set('exclusive', spec.exclusive);
  set('licenses', spec.licenses);

  if (spec.array) job.array = spec.array.expression;
  if (spec.dependency) job.dependency = renderDependency(spec.dependency);
  if (spec.hold) job.hold = true;
  set('begin_time', spec.begin);
  set('nice', spec.nice);
  if (spec.requeue === true) job.requeue = true;
  else if (spec.requeue === false) job.no_requeue = true;
  set('signal', spec.signal);
  if (spec.mailType && spec.mailType.length > 0) job.mail_type = spec.mailType.join(',');
  set('mail_user', spec.mailUser);

  set('standard_output', spec.output);
  set('standard_error', spec.error);
  set('standard_input', spec.input);
  set('open_mode', spec.openMode);
  return job;
}

/**
 * Options slurmrestd 22.05 cannot take, although sbatch can (measured on local-a): the v0.0.38
 * parser refuses the `B:` flag of `signal` ("Invalid SIGNAL specification" for every spelling)
 * and fails on `memory_per_gpu` in any form ("Failure during parsing", 9001). Sending the job
 * without them would run it differently: it is refused as inexpressible, saying where it can run
 * (an island with an SSH fallback sends it with sbatch instead, FallbackSlurmClient).
 */
function notExpressibleInV0038(spec: JobSpec): string | null {
  const where = 'islands whose SLURM is reached over SSH, or SLURM 23.11 and later, accept it';
  const features = submitFeaturesOf(spec);
  if (features.includes('batch-signal')) {
    return `--signal=${spec.signal}: slurmrestd 22.05 cannot send the B: flag (signal the batch shell only); ${where}. Without B:, the signal goes to the job's steps`;
  }
  if (features.includes('mem-per-gpu')) {
    return `--mem-per-gpu: slurmrestd 22.05 cannot parse it; ${where}. --mem or --mem-per-cpu work here`;
  }
  return null;
}

export function checkEnvironment(env: Record<string, string>): Record<string, string> {
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) {
    throw new SlurmRejectedError('environment must not be empty (slurmrestd inherits nothing; send PATH at least)', SLURM_ERR.ENVIRONMENT_MISSING);
  }
  const smuggled = storedEnvironmentRefusal(env);
  if (smuggled) throw new SlurmRejectedError(smuggled, undefined);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!isEnvName(name)) throw new SlurmRejectedError(`invalid environment variable name ${JSON.stringify(name)}`, undefined);
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new SlurmRejectedError(`environment variable ${name} must be a string without NUL`, undefined);
    }
    out[name] = value;
  }
  return out;
}
