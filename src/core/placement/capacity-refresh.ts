/**
 * Keeping the capacity snapshot fresh without listing every job per decision (pure functions; the
 * caller does the I/O):
 *
 *  - nodes: `GET /nodes?update_time=<last>` (slurmrestd) or `scontrol show nodes --json` returns only
 *    nodes changed since the last call (304 / empty when none). `nodeFromSlurm` maps each record,
 *    `applyNodeChanges` merges them by name into the island: O(changed) to map, O(nodes) to copy.
 *  - queue depth: the reconciler already polls `GET /jobs?update_time=<last>` (only changed jobs).
 *    `PendingQueueTracker` folds those deltas into a running pending count and pending CPU-seconds,
 *    O(changed jobs) per poll and O(1) to read.
 *
 * Placement then reads the in-memory snapshot; it never asks SLURM during a decision.
 */
import type { GpuPool, IslandCapacity, NodeCapacity, NodeState, QueueDepth } from './capacity';

/** The fields of a slurmrestd v0.0.38 `/nodes` record (also `scontrol show nodes --json`) that placement uses. */
export interface SlurmNodeRecord {
  name: string;
  /** e.g. `IDLE`, `MIXED`, `ALLOCATED`, `DOWN`, `DRAIN` (v0.0.38 prints the base state in lower or upper case). */
  state: string;
  /** e.g. `['DRAIN']`, `['DRAIN', 'COMPLETING']`. */
  state_flags?: string[];
  cpus: number;
  alloc_cpus?: number;
  idle_cpus?: number;
  /** MiB. */
  real_memory: number;
  alloc_memory?: number;
  /** `gpu:a100:4(S:0-1)`, comma-separated. */
  gres?: string;
  /** `gpu:a100:2(IDX:0-1)`. */
  gres_used?: string;
  /** Comma-separated. */
  active_features?: string;
  features?: string;
}

/** GPU pools from a GRES string: `gpu:a100:4(S:0-1),gpu:v100:2` → [{a100, 4}, {v100, 2}]. Non-GPU GRES are ignored. */
export function parseNodeGres(gres: string | undefined): Array<{ model: string; count: number }> {
  const out = new Map<string, number>();
  if (!gres || gres === '(null)') return [];
  // Split on commas that are not inside parentheses.
  let depth = 0;
  let start = 0;
  const entries: string[] = [];
  for (let i = 0; i <= gres.length; i++) {
    const c = gres[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if ((c === ',' && depth === 0) || i === gres.length) {
      entries.push(gres.slice(start, i));
      start = i + 1;
    }
  }
  for (const raw of entries) {
    const entry = raw.trim().replace(/\(.*\)$/, '');
    const fields = entry.split(':');
    if (fields[0] !== 'gpu') continue;
    let model = '';
    let count = 1;
    if (fields.length === 2) {
      if (/^\d+$/.test(fields[1])) count = Number(fields[1]);
      else model = fields[1];
    } else if (fields.length >= 3) {
      model = fields[1];
      count = Number(fields[2]);
    }
    if (!Number.isFinite(count) || count < 0) continue;
    out.set(model, (out.get(model) ?? 0) + count);
  }
  return [...out.entries()].map(([model, count]) => ({ model, count }));
}

export function nodeStateOf(state: string, flags: string[] = []): NodeState {
  const words = [...state.toUpperCase().split(/[+\s]+/), ...flags.map((f) => f.toUpperCase())];
  if (
    words.some(
      (w) =>
        w === 'DOWN' ||
        w === 'FAIL' ||
        w === 'FAILING' ||
        w === 'NOT_RESPONDING' ||
        w === 'FUTURE' ||
        w === 'UNKNOWN' ||
        w === 'POWERED_DOWN' ||
        w === 'POWER_DOWN',
    )
  )
    return 'down';
  if (words.some((w) => w === 'DRAIN' || w === 'DRAINING' || w === 'DRAINED' || w === 'MAINTENANCE' || w === 'RESERVED')) return 'drain';
  if (words.includes('ALLOCATED')) return 'allocated';
  if (words.includes('MIXED')) return 'mixed';
  return 'idle';
}

export function nodeFromSlurm(r: SlurmNodeRecord): NodeCapacity {
  const total = parseNodeGres(r.gres);
  const used = new Map(parseNodeGres(r.gres_used).map((g) => [g.model, g.count]));
  const gpus: GpuPool[] = total.map((g) => ({ model: g.model, total: g.count, free: Math.max(0, g.count - (used.get(g.model) ?? 0)) }));
  const cpusFree = r.idle_cpus ?? Math.max(0, r.cpus - (r.alloc_cpus ?? 0));
  const features = (r.active_features ?? r.features ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  return {
    name: r.name,
    cpus: r.cpus,
    cpusFree: Math.max(0, Math.min(r.cpus, cpusFree)),
    memoryMb: r.real_memory,
    memoryFreeMb: Math.max(0, r.real_memory - (r.alloc_memory ?? 0)),
    gpus,
    features,
    state: nodeStateOf(r.state, r.state_flags),
  };
}

/** The island with `changed` nodes replaced or added (by name) and `removed` ones dropped; input untouched. */
export function applyNodeChanges(island: IslandCapacity, changed: NodeCapacity[], removed: string[] = []): IslandCapacity {
  if (changed.length === 0 && removed.length === 0) return island;
  const byName = new Map(changed.map((n) => [n.name, n]));
  const gone = new Set(removed);
  const nodes: NodeCapacity[] = [];
  for (const node of island.nodes) {
    if (gone.has(node.name)) continue;
    const update = byName.get(node.name);
    nodes.push(update ?? node);
    byName.delete(node.name);
  }
  for (const added of byName.values()) nodes.push(added);
  return { ...island, nodes };
}

/** One job (or array task) from an incremental job listing, reduced to what queue depth needs. */
export interface PendingJobChange {
  /** `jobId` or `arrayJobId_taskId`; the pending remainder of an array counts `pendingTasks` jobs. */
  key: string;
  /** SLURM state string; only `PENDING` counts. */
  state: string;
  cpus: number;
  /** Minutes; null = unlimited (counted as `unlimitedMinutes`). */
  timeLimitMinutes: number | null;
  /** For an array's pending remainder record (`arrayTaskString`), how many tasks it stands for; default 1. */
  pendingTasks?: number;
}

/** Queue depth from incremental job deltas: no full job listing per refresh, none per decision. */
export class PendingQueueTracker {
  private readonly pending = new Map<string, { jobs: number; cpuSeconds: number }>();
  private jobs = 0;
  private cpuSeconds = 0;

  constructor(private readonly unlimitedMinutes = 7 * 24 * 60) {}

  apply(changes: Iterable<PendingJobChange>): void {
    for (const c of changes) {
      const before = this.pending.get(c.key);
      if (before) {
        this.jobs -= before.jobs;
        this.cpuSeconds -= before.cpuSeconds;
        this.pending.delete(c.key);
      }
      if (c.state.toUpperCase().startsWith('PENDING')) {
        const jobs = c.pendingTasks ?? 1;
        const cpuSeconds = jobs * c.cpus * (c.timeLimitMinutes ?? this.unlimitedMinutes) * 60;
        this.pending.set(c.key, { jobs, cpuSeconds });
        this.jobs += jobs;
        this.cpuSeconds += cpuSeconds;
      }
    }
  }

  /** Jobs that left SLURM's memory (purged) without a final state in the delta. */
  forget(keys: Iterable<string>): void {
    this.apply([...keys].map((key) => ({ key, state: 'GONE', cpus: 0, timeLimitMinutes: 0 })));
  }

  depth(): QueueDepth {
    return { pendingJobs: this.jobs, pendingCpuSeconds: this.cpuSeconds };
  }
}
