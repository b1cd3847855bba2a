import type { AccountingRun, AccountingStep, Tres } from '../../core/usage/accounting';
import { expandHostlist } from '../../core/usage/hostlist';
import { jobStateName, setNumber } from './slurm-values';

/**
 * A job as slurmdbd prints it (`GET /slurmdb/<version>/jobs`, and `sacct --json`, which prints the
 * same records). Only the fields accounting uses; see slurm/local/README.md (Accounting) for what
 * they hold on a real island. 23.11+ (v0.0.40-v0.0.42) wraps `array.task_id` as `{set, number}`
 * and makes `state.current` an array; test/fixtures/slurm-24.11 holds real records.
 */
export interface SlurmDbJob {
  job_id?: number;
  array?: { job_id?: number | null; task_id?: number | null | { set?: boolean; infinite?: boolean; number?: number } };
  comment?: { job?: string | null } | null;
  user?: string | null;
  state?: { current?: string | string[] | null };
  time?: {
    submission?: number | null;
    start?: number | null;
    end?: number | null;
    elapsed?: number | null;
    /** User + system CPU time: 22.05 leaves it 0 on the job and counts it on the steps. */
    total?: CpuTime | null;
  };
  nodes?: string | null;
  tres?: { allocated?: V0038Tres[] | null };
  steps?: Array<{
    step?: { id?: string | number | null };
    nodes?: { list?: string[] | null; range?: string | null };
    time?: { elapsed?: number | null; total?: CpuTime | null };
    tres?: { allocated?: V0038Tres[] | null };
  }> | null;
}

interface CpuTime {
  seconds?: number | null;
  microseconds?: number | null;
}

const cpuSecondsOf = (time: CpuTime | null | undefined) => Math.max(0, (time?.seconds ?? 0) + (time?.microseconds ?? 0) / 1e6);

/**
 * sacct's TotalCPU of a job: the sum over its steps (what sacct prints on the job's line; slurmdbd
 * 22.05 records 0 on the job itself), or the job's own figure when no step is recorded.
 */
function totalCpuSeconds(raw: SlurmDbJob): number {
  const steps = raw.steps ?? [];
  return steps.length > 0 ? steps.reduce((sum, step) => sum + cpuSecondsOf(step.time?.total), 0) : cpuSecondsOf(raw.time?.total);
}

interface V0038Tres {
  type?: string | null;
  name?: string | null;
  count?: number | null;
}

function seconds(value: number | null | undefined): number | null {
  const n = setNumber(value);
  return n !== null && n > 0 ? n : null;
}

/** Folds TRES entries into counts; `energy` and other untracked types are ignored, null counts read 0. */
export function toTres(entries: readonly V0038Tres[] | null | undefined): Tres {
  const tres: Tres = { cpu: 0, memMb: 0, nodes: 0, gpus: 0, gpusByModel: {} };
  for (const entry of entries ?? []) {
    const count = typeof entry.count === 'number' && entry.count > 0 ? entry.count : 0;
    if (entry.type === 'cpu') tres.cpu = count;
    else if (entry.type === 'mem') tres.memMb = count;
    else if (entry.type === 'node') tres.nodes = count;
    else if (entry.type === 'gres' && entry.name === 'gpu') tres.gpus = count;
    else if (entry.type === 'gres' && entry.name?.startsWith('gpu:')) tres.gpusByModel[entry.name.slice(4)] = count;
  }
  return tres;
}

/** The job's node list, completed with nodes only its steps name (the job's list can lag behind). */
function withStepNodes(nodes: string[], steps: AccountingStep[]): string[] {
  const all = [...nodes];
  for (const step of steps) for (const node of step.nodes) if (!all.includes(node)) all.push(node);
  return all;
}

/** Maps one slurmdbd job record (22.05 or 23.11+) to an accounting run (pure). */
export function toAccountingRun(raw: SlurmDbJob): AccountingRun {
  if (typeof raw.job_id !== 'number') throw new Error('accounting record without job_id');
  const arrayJobId = raw.array?.job_id;
  const taskId = setNumber(raw.array?.task_id);
  const isArrayTask = typeof arrayJobId === 'number' && arrayJobId > 0 && taskId !== null && taskId >= 0;
  const start = seconds(raw.time?.start);
  const steps: AccountingStep[] = (raw.steps ?? []).map((s) => ({
    id: String(s.step?.id ?? ''),
    nodes: s.nodes?.list ?? expandHostlist(s.nodes?.range),
    elapsedSeconds: Math.max(0, s.time?.elapsed ?? 0),
    allocated: toTres(s.tres?.allocated),
  }));
  return {
    slurmJobId: raw.job_id,
    ...(isArrayTask ? { arrayJobId: arrayJobId!, arrayTaskId: taskId! } : {}),
    state: jobStateName(raw.state?.current),
    comment: raw.comment?.job ?? '',
    user: raw.user || null,
    submitTime: seconds(raw.time?.submission) ?? 0,
    startTime: start,
    endTime: seconds(raw.time?.end),
    elapsedSeconds: start === null ? 0 : Math.max(0, raw.time?.elapsed ?? 0),
    cpuSeconds: totalCpuSeconds(raw),
    nodes: start === null ? [] : withStepNodes(expandHostlist(raw.nodes), steps),
    allocated: toTres(raw.tres?.allocated),
    steps,
  };
}
