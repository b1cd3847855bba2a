import type { components } from './rest/generated/slurm-v0.0.38';
import type { SlurmNodeRecord } from '../../core/slurm/slurm-client.port';

/** A node as slurmrestd v0.0.38 (`GET /nodes`) and `sinfo --json` on 22.05 print it. */
export type V0038NodeRecord = components['schemas']['v0.0.38_node'];

/** SLURM's NO_VAL / INFINITE sentinels for 32- and 64-bit counters. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 0xfffffffe ? value : 0;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  if (typeof value !== 'string' || value === '(null)') return [];
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

function text(value: unknown): string {
  return typeof value === 'string' && value !== '(null)' ? value : '';
}

export function toSlurmNodeRecord(raw: V0038NodeRecord): SlurmNodeRecord {
  const r = raw as Record<string, unknown>;
  const cpus = count(r.cpus);
  const allocCpus = count(r.alloc_cpus);
  return {
    name: text(r.name),
    state: text(r.state),
    stateFlags: list(r.state_flags),
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
