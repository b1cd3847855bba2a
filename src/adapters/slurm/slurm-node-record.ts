import type { components } from './rest/generated/slurm-v0.0.38';
import type { components as components42 } from './rest/generated/slurm-v0.0.42';
import type { SlurmNodeRecord } from '../../core/slurm/slurm-client.port';

/** A node as slurmrestd v0.0.38 (`GET /nodes`) and `sinfo --json` on 22.05 print it. */
export type V0038NodeRecord = components['schemas']['v0.0.38_node'];
/** A node as v0.0.40-v0.0.42 and `sinfo --json` on 23.11+ print it: `state` is `[base, ...flags]`, `idle_cpus` is gone. */
export type V0042NodeRecord = components42['schemas']['v0.0.42_node'];

/** SLURM's NO_VAL / INFINITE sentinels for 32- and 64-bit counters. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 0xfffffffe ? value : 0;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  if (typeof value !== 'string' || value === '(null)') return [];
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function text(value: unknown): string {
  return typeof value === 'string' && value !== '(null)' ? value : '';
}

/** Base state and flags: v0.0.38 `state` + `state_flags`, 23.11+ one array with the base state first. */
function stateOf(r: Record<string, unknown>): { state: string; stateFlags: string[] } {
  if (!Array.isArray(r.state)) return { state: text(r.state), stateFlags: list(r.state_flags) };
  const [state = '', ...stateFlags] = list(r.state);
  return { state, stateFlags };
}

export function toSlurmNodeRecord(raw: V0038NodeRecord | V0042NodeRecord): SlurmNodeRecord {
  const r = raw as Record<string, unknown>;
  const cpus = count(r.cpus);
  const allocCpus = count(r.alloc_cpus);
  return {
    name: text(r.name),
    ...stateOf(r),
    cpus,
    allocCpus,
    idleCpus: typeof r.idle_cpus === 'number' ? count(r.idle_cpus) : Math.max(0, cpus - allocCpus),
    realMemoryMb: count(r.real_memory),
    allocMemoryMb: count(r.alloc_memory),
    features: list(r.features),
    activeFeatures: list(r.active_features),
    partitions: list(r.partitions),
    gres: text(r.gres),
    gresUsed: text(r.gres_used),
  };
}
