import type { AccountingRun, AccountingStep, Tres } from '../../core/usage/accounting';
import { expandHostlist } from '../../core/usage/hostlist';

/**
 * A job as slurmdbd's v0.0.38 schema prints it (`GET /slurmdb/v0.0.38/jobs`, and `sacct --json` on
 * 22.05, which prints the same records). Only the fields accounting uses; see slurm/local/README.md
 * (Accounting) for what they hold on a real island.
 */
export interface V0038DbJob {
  job_id?: number;
  array?: { job_id?: number | null; task_id?: number | null };
  comment?: { job?: string | null } | null;
  user?: string | null;
  state?: { current?: string | null };
  time?: { submission?: number | null; start?: number | null; end?: number | null; elapsed?: number | null };
  nodes?: string | null;
  tres?: { allocated?: V0038Tres[] | null };
  steps?: Array<{
    step?: { id?: string | number | null };
    nodes?: { list?: string[] | null; range?: string | null };
    time?: { elapsed?: number | null };
    tres?: { allocated?: V0038Tres[] | null };
  }> | null;
}

interface V0038Tres {
  type?: string | null;
  name?: string | null;
  count?: number | null;
}

/** SLURM's NO_VAL / INFINITE sentinels for 32-bit fields. */
const NO_VAL32 = 0xfffffffe;

function seconds(value: number | null | undefined): number | null {
  return typeof value === 'number' && value > 0 && value < NO_VAL32 ? value : null;
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

/** Maps one slurmdbd v0.0.38 job record to an accounting run (pure). */
export function toAccountingRun(raw: V0038DbJob): AccountingRun {
  if (typeof raw.job_id !== 'number') throw new Error('accounting record without job_id');
  const arrayJobId = raw.array?.job_id;
  const taskId = raw.array?.task_id;
  const isArrayTask = typeof arrayJobId === 'number' && arrayJobId > 0 && typeof taskId === 'number' && taskId >= 0 && taskId < NO_VAL32;
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
    state: raw.state?.current ?? '',
    comment: raw.comment?.job ?? '',
    user: raw.user || null,
    submitTime: seconds(raw.time?.submission) ?? 0,
    startTime: start,
    endTime: seconds(raw.time?.end),
    elapsedSeconds: start === null ? 0 : Math.max(0, raw.time?.elapsed ?? 0),
    nodes: start === null ? [] : withStepNodes(expandHostlist(raw.nodes), steps),
    allocated: toTres(raw.tres?.allocated),
    steps,
  };
}
