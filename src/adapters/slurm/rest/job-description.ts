import type { components } from './generated/slurm-v0.0.42';
import { RELATIVE_BEGIN } from '../../../core/sbatch/submit-features';
import { SlurmInexpressibleError, type SlurmSubmitRequest } from '../../../core/slurm/slurm-client.port';
import type { JobSpec } from '../../../core/sbatch/job-spec';
import { renderDependency } from '../../../core/sbatch/render-dependency';
import { renderNodeRange } from '../../../core/sbatch/render-sbatch-argv';
import { checkScriptAndDirectory, submittedEnvironment } from './job-properties';

/**
 * The job description of `POST /slurm/v0.0.4x/job/submit` (SLURM 23.11+), typed from v0.0.42's spec;
 * every key used here means the same in v0.0.40 and v0.0.41. What changed since v0.0.38: the
 * environment is a `K=V` list, counts and times are `{set, infinite, number}`, GPUs and GRES are
 * TRES strings (`gres/gpu:2`), exclusivity is `shared`, mail types and open mode are lists.
 */
export type JobDescription = components['schemas']['v0.0.42_job_desc_msg'];
export interface JobDescriptionSubmission {
  job: JobDescription;
}

const setTo = (number: number) => ({ set: true, infinite: false, number });
const UNLIMITED = { set: true, infinite: true, number: 0 };

/** sbatch's mail words → the API's (`ALL` is what 24.11's sbatch expands it to: `scontrol show job` of a native job says INVALID_DEPEND,BEGIN,END,FAIL,REQUEUE,STAGE_OUT). */
const MAIL_FLAGS: Record<string, string[]> = {
  ALL: ['INVALID_DEPENDENCY', 'BEGIN', 'END', 'FAIL', 'REQUEUE', 'STAGE_OUT'],
  TIME_LIMIT: ['TIME=100%'],
  TIME_LIMIT_90: ['TIME=90%'],
  TIME_LIMIT_80: ['TIME=80%'],
  TIME_LIMIT_50: ['TIME=50%'],
  INVALID_DEPEND: ['INVALID_DEPENDENCY'],
  NONE: [],
};

const BEGIN_UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800 };

/**
 * `--begin` as the unix time the API takes. Only `now[+N[units]]` can be computed here without
 * knowing the cluster's time zone; other forms are refused (the SSH adapter passes them to sbatch).
 */
function beginTime(begin: string, nowSeconds: number): number {
  const m = RELATIVE_BEGIN.exec(begin);
  if (!m)
    throw new SlurmInexpressibleError(
      `begin: slurmrestd v0.0.40+ takes "now+<count><unit>" only, not ${JSON.stringify(begin)}; an island reached over SSH takes it`,
    );
  return nowSeconds + Number(m[1] ?? 0) * BEGIN_UNIT_SECONDS[(m[2] ?? 'second').toLowerCase()];
}

/** `--signal=SIG[@seconds]`; the `B:`/`R:` flags have no field in the job description. */
function warningSignal(signal: string): Pick<JobDescription, 'kill_warning_signal' | 'kill_warning_delay'> {
  const m = /^([A-Za-z0-9]+)(?:@(\d+))?$/.exec(signal);
  if (!m)
    throw new SlurmInexpressibleError(
      `signal: slurmrestd v0.0.40+ cannot send ${JSON.stringify(signal)} (no B:/R: flags); use SIGNAL[@SECONDS], or an island reached over SSH`,
    );
  // sbatch's default warning time is 60 s.
  return { kill_warning_signal: m[1], kill_warning_delay: setTo(Number(m[2] ?? 60)) };
}

/** GRES and GPU options as TRES lists (`gres/gpu:a100:2`), per node, per job and per task. */
function tres(spec: JobSpec): Pick<JobDescription, 'tres_per_node' | 'tres_per_job' | 'tres_per_task' | 'memory_per_tres'> {
  const gres = (item: string) => `gres/${item}`;
  const perNode = [...(spec.gres ? spec.gres.split(',').map(gres) : []), ...(spec.gpusPerNode ? [gres(`gpu:${spec.gpusPerNode}`)] : [])];
  return {
    ...(perNode.length ? { tres_per_node: perNode.join(',') } : {}),
    ...(spec.gpus ? { tres_per_job: gres(`gpu:${spec.gpus}`) } : {}),
    ...(spec.gpusPerTask ? { tres_per_task: gres(`gpu:${spec.gpusPerTask}`) } : {}),
    ...(spec.memPerGpuMb !== undefined ? { memory_per_tres: gres(`gpu:${spec.memPerGpuMb}`) } : {}),
  };
}

/** Maps a submit request to the body of `POST /slurm/v0.0.4x/job/submit` (pure but for `nowSeconds`). */
export function toJobDescriptionSubmission(request: SlurmSubmitRequest, nowSeconds: number, submitHost: string): JobDescriptionSubmission {
  checkScriptAndDirectory(request);
  const { spec } = request;
  const environment = Object.entries(submittedEnvironment(request, submitHost)).map(([name, value]) => `${name}=${value}`);
  const job: JobDescription = { script: request.script, environment, current_working_directory: request.workingDirectory };
  const set = <K extends keyof JobDescription>(key: K, value: JobDescription[K] | undefined) => {
    if (value !== undefined) job[key] = value;
  };

  set('name', spec.jobName);
  set('partition', spec.partition);
  set('account', spec.account);
  set('qos', spec.qos);
  set('reservation', spec.reservation);
  set('comment', request.comment || spec.comment);

  if (spec.nodes) job.nodes = renderNodeRange(spec.nodes);
  set('tasks', spec.ntasks);
  set('tasks_per_node', spec.ntasksPerNode);
  set('cpus_per_task', spec.cpusPerTask);
  if (spec.memPerNodeMb !== undefined) job.memory_per_node = setTo(spec.memPerNodeMb);
  if (spec.memPerCpuMb !== undefined) job.memory_per_cpu = setTo(spec.memPerCpuMb);
  if (spec.timeLimitMinutes === null) job.time_limit = UNLIMITED;
  else if (spec.timeLimitMinutes !== undefined) job.time_limit = setTo(spec.timeLimitMinutes);
  if (spec.timeMinMinutes !== undefined) job.time_minimum = setTo(spec.timeMinMinutes);

  Object.assign(job, tres(spec));
  set('constraints', spec.constraint);
  if (spec.exclusive) job.shared = [spec.exclusive === 'exclusive' ? 'none' : spec.exclusive];
  set('licenses', spec.licenses);

  if (spec.array) job.array = spec.array.expression;
  if (spec.dependency) job.dependency = renderDependency(spec.dependency);
  if (spec.hold) job.hold = true;
  if (spec.begin !== undefined) job.begin_time = setTo(beginTime(spec.begin, nowSeconds));
  set('nice', spec.nice);
  set('requeue', spec.requeue);
  if (spec.signal) Object.assign(job, warningSignal(spec.signal));
  if (spec.mailType?.length) job.mail_type = [...new Set(spec.mailType.flatMap((w) => MAIL_FLAGS[w] ?? [w]))] as JobDescription['mail_type'];
  set('mail_user', spec.mailUser);

  set('standard_output', spec.output);
  set('standard_error', spec.error);
  set('standard_input', spec.input);
  if (spec.openMode) job.open_mode = [spec.openMode === 'append' ? 'APPEND' : 'TRUNCATE'];
  return { job };
}
