/**
 * What a job needs from an island, derived from its normalized JobSpec: a per-node demand (every
 * one of `nodes` DIFFERENT nodes must hold it), the node count, the tier need, the time.
 */
import type { JobSpec } from '../sbatch/job-spec';
import { submitFeaturesOf, type SubmitFeature } from '../sbatch/submit-features';
import { ConstraintError, parseConstraint, type FeatureConstraint } from './feature-constraint';

export interface JobDemand {
  /** Nodes the job needs (the minimum of `-N min-max`); all on one island. */
  nodes: number;
  tasksPerNode: number;
  cpusPerNode: number;
  /** Memory per node in MiB (ignored when wholeNodeMemory). */
  memPerNodeMb: number;
  /** `--mem=0`: all the memory of each node, so a node whose memory is entirely free. */
  wholeNodeMemory: boolean;
  /** `--exclusive`: whole, idle nodes. */
  exclusive: boolean;
  gpusPerNode: number;
  /** null: any model. */
  gpuModel: string | null;
  constraint: FeatureConstraint | null;
  partition: string | null;
  /** Minutes; null = UNLIMITED; undefined in the spec = the partition's default (fits any partition). */
  timeLimitMinutes: number | null;
  timeGiven: boolean;
  /** Used for queue and cost estimates: the time limit, or `defaultTimeMinutes` when none/unlimited. */
  runtimeMinutes: number;
  /** nodes > 1: needs a tight-tier island unless the user sets `maxIslandLatencyMs` (see UserConstraints). */
  requiresTightTier: boolean;
  /** Array tasks (each task is a job of this per-task demand), null for a plain job. */
  array: { taskIds: number[]; maxRunning: number | null } | null;
  /** What the job asks for that some islands' way of submitting cannot send (SubmitFeature). */
  submitFeatures: SubmitFeature[];
  /** Things placement saw but does not filter on (other GRES, `-N` max...). */
  notes: string[];
  /** Canonical key of everything placement filters and scores on (arrays and the runtime estimate excluded): equal keys, equal treatment. */
  key: string;
}

export class DemandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemandError';
  }
}

export interface DemandOptions {
  /** Memory per CPU when the job gives no --mem/--mem-per-cpu/--mem-per-gpu (SLURM's DefMemPerCPU); default 0. */
  defaultMemPerCpuMb?: number;
  /** Runtime assumed for estimates when the job has no or an unlimited time limit; default 60. */
  defaultTimeMinutes?: number;
}

interface GpuAsk {
  model: string | null;
  count: number;
}

/** `[type:]count` (the --gpus* forms); one model only. */
function parseGpuCountForm(text: string, option: string): GpuAsk {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > 1) throw new DemandError(`${option}=${text}: a request for more than one GPU model is not supported`);
  const m = /^(?:([A-Za-z0-9_.-]+):)?(\d+)$/.exec(parts[0]);
  if (!m || Number(m[2]) < 1) throw new DemandError(`${option}=${text}: expects [model:]count`);
  return { model: m[1] ?? null, count: Number(m[2]) };
}

/** `--gres=gpu[:model][:count][(...)]`, comma-separated with other GRES (kept as notes). */
function parseGres(text: string, notes: string[]): GpuAsk | null {
  let gpu: GpuAsk | null = null;
  for (const raw of text.split(',')) {
    const entry = raw.trim().replace(/\(.*\)$/, '');
    if (entry === '') continue;
    const fields = entry.split(':');
    if (fields[0] !== 'gpu') {
      notes.push(`GRES ${entry} is not tracked by placement`);
      continue;
    }
    let model: string | null = null;
    let count = 1;
    if (fields.length === 2) {
      if (/^\d+$/.test(fields[1])) count = Number(fields[1]);
      else model = fields[1];
    } else if (fields.length === 3) {
      model = fields[1];
      if (!/^\d+$/.test(fields[2])) throw new DemandError(`--gres=${text}: GPU count "${fields[2]}" is not a number`);
      count = Number(fields[2]);
    } else if (fields.length > 3) {
      throw new DemandError(`--gres=${text}: expects gpu[:model][:count]`);
    }
    if (count < 1) throw new DemandError(`--gres=${text}: GPU count must be at least 1`);
    if (gpu) throw new DemandError(`--gres=${text}: a request for more than one GPU model is not supported`);
    gpu = { model, count };
  }
  return gpu;
}

export function deriveDemand(spec: JobSpec, options: DemandOptions = {}): JobDemand {
  const notes: string[] = [];
  const defaultTime = options.defaultTimeMinutes ?? 60;
  const nodes = Math.max(1, spec.nodes?.min ?? (spec.ntasks && spec.ntasksPerNode ? Math.ceil(spec.ntasks / spec.ntasksPerNode) : 1));
  if (spec.nodes?.max !== undefined && spec.nodes.max !== spec.nodes.min) {
    notes.push(`placed for the minimum of ${spec.nodes.min}-${spec.nodes.max} nodes`);
  }
  const tasksPerNode = Math.max(1, spec.ntasksPerNode ?? Math.ceil((spec.ntasks ?? nodes) / nodes));
  const cpusPerNode = tasksPerNode * Math.max(1, spec.cpusPerTask ?? 1);

  // GPUs per node: --gpus-per-node, --gres, --gpus-per-task (× tasks per node), --gpus (÷ nodes).
  const asks: Array<{ from: string; ask: GpuAsk }> = [];
  if (spec.gpusPerNode) asks.push({ from: '--gpus-per-node', ask: parseGpuCountForm(spec.gpusPerNode, '--gpus-per-node') });
  if (spec.gres) {
    const g = parseGres(spec.gres, notes);
    if (g) asks.push({ from: '--gres', ask: g });
  }
  if (spec.gpusPerTask) {
    const g = parseGpuCountForm(spec.gpusPerTask, '--gpus-per-task');
    asks.push({ from: '--gpus-per-task', ask: { model: g.model, count: g.count * tasksPerNode } });
  }
  if (spec.gpus) {
    const g = parseGpuCountForm(spec.gpus, '--gpus');
    asks.push({ from: '--gpus', ask: { model: g.model, count: Math.ceil(g.count / nodes) } });
  }
  const models = new Set(asks.map((a) => a.ask.model).filter((m): m is string => m !== null));
  if (models.size > 1) {
    throw new DemandError(`GPU models disagree (${asks.map((a) => `${a.from}: ${a.ask.model ?? 'any'}`).join(', ')})`);
  }
  const gpusPerNode = asks.reduce((max, a) => Math.max(max, a.ask.count), 0);
  const gpuModel = models.size === 1 ? [...models][0] : null;

  let memPerNodeMb: number;
  let wholeNodeMemory = false;
  if (spec.memPerNodeMb !== undefined) {
    wholeNodeMemory = spec.memPerNodeMb === 0;
    memPerNodeMb = spec.memPerNodeMb;
  } else if (spec.memPerCpuMb !== undefined) {
    memPerNodeMb = spec.memPerCpuMb * cpusPerNode;
  } else if (spec.memPerGpuMb !== undefined) {
    memPerNodeMb = spec.memPerGpuMb * gpusPerNode;
  } else {
    memPerNodeMb = (options.defaultMemPerCpuMb ?? 0) * cpusPerNode;
  }

  let constraint: FeatureConstraint | null = null;
  if (spec.constraint) {
    try {
      constraint = parseConstraint(spec.constraint);
    } catch (error) {
      if (error instanceof ConstraintError) throw new DemandError(error.message);
      throw error;
    }
  }
  const exclusive = spec.exclusive === 'exclusive';
  if (spec.exclusive && !exclusive) notes.push(`--exclusive=${spec.exclusive} is placed as a shared job`);

  const timeGiven = spec.timeLimitMinutes !== undefined;
  const timeLimitMinutes = spec.timeLimitMinutes === undefined ? null : spec.timeLimitMinutes;
  const runtimeMinutes = typeof spec.timeLimitMinutes === 'number' ? spec.timeLimitMinutes : defaultTime;

  const demand: JobDemand = {
    nodes,
    tasksPerNode,
    cpusPerNode,
    memPerNodeMb,
    wholeNodeMemory,
    exclusive,
    gpusPerNode,
    gpuModel,
    constraint,
    partition: spec.partition ?? null,
    timeLimitMinutes,
    timeGiven,
    runtimeMinutes,
    // --switches=2 or more: the job accepts nodes behind several switches, which is what a loose island is.
    requiresTightTier: nodes > 1 && (spec.switches === undefined || spec.switches.count < 2),
    array: spec.array ? { taskIds: spec.array.taskIds, maxRunning: spec.array.maxRunning ?? null } : null,
    submitFeatures: submitFeaturesOf(spec),
    notes,
    key: '',
  };
  demand.key = demandKey(demand);
  return demand;
}

/** Recomputes `key` (call after editing a demand by hand). */
export function demandKey(d: Omit<JobDemand, 'key'>): string {
  return [
    d.nodes,
    d.cpusPerNode,
    d.wholeNodeMemory ? 'all' : d.memPerNodeMb,
    d.exclusive ? 'x' : '',
    d.gpusPerNode,
    d.gpuModel ?? '',
    d.constraint?.text ?? '',
    d.partition ?? '',
    d.timeGiven ? (d.timeLimitMinutes ?? 'inf') : '',
    d.requiresTightTier ? 't' : '',
    d.submitFeatures.join(','),
  ].join('|');
}
