import type { JobSpec } from './job-spec';
import { renderDependency } from './render-dependency';

export interface SbatchArgvOptions {
  /** `--chdir`; the SSH adapter passes the resolved working directory (it also `cd`s there). */
  workingDirectory?: string;
  /** `--comment`; overrides `spec.comment` (the dispatcher stores our job id there). */
  comment?: string;
}

/**
 * Renders a JobSpec as sbatch options, one `--flag=value` (or bare `--flag`) string per option,
 * NOT shell-quoted (see `shellQuote`). `spec.export` is not rendered: the SSH adapter builds the
 * job's environment itself (`env -i … sbatch --export=ALL`). `spec.chdir` is not rendered either:
 * the caller resolves it into `workingDirectory`.
 */
export function renderSbatchArgv(spec: JobSpec, options: SbatchArgvOptions = {}): string[] {
  const argv: string[] = [];
  const str = (flag: string, value: string | undefined) => {
    if (value !== undefined) argv.push(`--${flag}=${value}`);
  };
  const int = (flag: string, value: number | undefined, min = 0) => {
    if (value !== undefined) argv.push(`--${flag}=${checkInt(flag, value, min)}`);
  };

  str('job-name', spec.jobName);
  str('partition', spec.partition);
  str('account', spec.account);
  str('qos', spec.qos);
  str('reservation', spec.reservation);
  const comment = options.comment ?? spec.comment;
  str('comment', comment);

  if (spec.nodes) argv.push(`--nodes=${renderNodeRange(spec.nodes)}`);
  int('ntasks', spec.ntasks, 1);
  int('ntasks-per-node', spec.ntasksPerNode, 1);
  int('cpus-per-task', spec.cpusPerTask, 1);
  int('threads-per-core', spec.threadsPerCore, 1);
  int('mem', spec.memPerNodeMb);
  int('mem-per-cpu', spec.memPerCpuMb);
  int('mem-per-gpu', spec.memPerGpuMb);
  if (spec.timeLimitMinutes === null) argv.push('--time=UNLIMITED');
  else int('time', spec.timeLimitMinutes, 1);
  int('time-min', spec.timeMinMinutes, 1);

  str('gres', spec.gres);
  str('gpus', spec.gpus);
  str('gpus-per-node', spec.gpusPerNode);
  str('gpus-per-task', spec.gpusPerTask);
  str('constraint', spec.constraint);
  if (spec.exclusive === 'exclusive') argv.push('--exclusive');
  else if (spec.exclusive) argv.push(`--exclusive=${spec.exclusive}`);
  str('licenses', spec.licenses);

  if (spec.array) str('array', spec.array.expression);
  if (spec.dependency) str('dependency', renderDependency(spec.dependency));
  if (spec.hold) argv.push('--hold');
  str('begin', spec.begin);
  if (spec.nice !== undefined) argv.push(`--nice=${checkInt('nice', spec.nice, -2147483645)}`);
  if (spec.requeue === true) argv.push('--requeue');
  else if (spec.requeue === false) argv.push('--no-requeue');
  str('signal', spec.signal);
  if (spec.mailType && spec.mailType.length > 0) str('mail-type', spec.mailType.join(','));
  str('mail-user', spec.mailUser);

  str('output', spec.output);
  str('error', spec.error);
  str('input', spec.input);
  str('open-mode', spec.openMode);
  str('chdir', options.workingDirectory);
  return argv;
}

/** `{min: 2}` → `2`, `{min: 1, max: 4}` → `1-4`. */
export function renderNodeRange(nodes: { min: number; max?: number }): string {
  const min = checkInt('nodes', nodes.min, 1);
  if (nodes.max === undefined || nodes.max === nodes.min) return String(min);
  const max = checkInt('nodes', nodes.max, min);
  return `${min}-${max}`;
}

function checkInt(what: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${what}: expected an integer >= ${min}, got ${value}`);
  }
  return value;
}
