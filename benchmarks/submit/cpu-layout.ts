import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * Which cores the benchmark's processes may use (Linux, `taskset` from util-linux).
 *
 * - `shared`: every process on every core, as when one small machine runs the whole stack. Both
 *   the dispatcher and the raw client then compete with slurmctld and slurmrestd for the same cores,
 *   so dispatch/raw is bounded by raw ÷ dispatch CPU per job.
 * - `split`: the island's SLURM side (its slurmctld, slurmscriptd, slurmd and slurmrestd, and the
 *   services SLURM uses: munged, slurmdbd, MariaDB) on the upper half of the cores; PostgreSQL,
 *   Redis, this process and everything it spawns (API, workers, the raw client) on the lower half.
 *   That is how Archipelago is deployed: slurmctld runs on the island's head node, not beside the
 *   control plane, so dispatch/raw measures whether the dispatcher keeps SLURM as busy as a bare
 *   client does.
 */
export type CpuLayout = 'shared' | 'split';

export const CPU_LAYOUTS: readonly CpuLayout[] = ['shared', 'split'];

export interface AppliedLayout {
  layout: CpuLayout;
  /** Cores of the island's SLURM side, as taskset lists them (e.g. "1"). */
  slurmCpus: string;
  /** Cores of everything else. */
  controlPlaneCpus: string;
  /** Processes pinned to the SLURM side. */
  slurmProcesses: string[];
  /** Gives every pinned process every core again. */
  restore(): void;
}

/** Services SLURM uses, on the SLURM side whatever island they serve. */
const SLURM_SERVICES = new Set(['munged', 'slurmdbd', 'mariadbd']);
const CONTROL_PLANE_SERVICES = new Set(['postgres', 'redis-server']);

interface ProcessInfo {
  pid: number;
  comm: string;
  ppid: number;
  cmdline: string;
}

function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      found.push({
        pid: Number(entry),
        comm: stat.slice(stat.indexOf('(') + 1, close),
        ppid: Number(stat.slice(close + 2).split(' ')[1]),
        cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '),
      });
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** The island's daemons (started with its slurm.conf), slurmctld's script helper, and SLURM's services. */
export function slurmSideOf(island: string, all: ProcessInfo[] = processes()): ProcessInfo[] {
  const conf = `/islands/${island}/slurm.conf`;
  const daemons = all.filter((p) => p.cmdline.includes(conf));
  const daemonPids = new Set(daemons.map((p) => p.pid));
  const helpers = all.filter((p) => !daemonPids.has(p.pid) && (SLURM_SERVICES.has(p.comm) || (p.comm === 'slurmscriptd' && daemonPids.has(p.ppid))));
  return [...daemons, ...helpers];
}

/** taskset's list of a range of cores. */
function coreList(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

function pin(pid: number, cores: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('taskset not found: the split CPU layout needs util-linux');
    // A process that ended meanwhile needs no pinning; anything else is a real failure.
    if (!/No such process|failed to get pid/.test(String(err.stderr ?? ''))) throw new Error(`taskset ${pid}: ${String(err.stderr ?? err.message).trim()}`);
  }
}

/** Puts the processes where the layout says (shared: nothing to do but report it). */
export function applyCpuLayout(layout: CpuLayout, island: string): AppliedLayout {
  const count = cpus().length;
  const every = coreList(0, count - 1);
  if (layout === 'shared' || count < 2) {
    return { layout: 'shared', slurmCpus: every, controlPlaneCpus: every, slurmProcesses: [], restore: () => undefined };
  }
  const half = Math.floor(count / 2);
  const slurmCpus = coreList(half, count - 1);
  const controlPlaneCpus = coreList(0, half - 1);
  const all = processes();
  const slurmSide = slurmSideOf(island, all);
  if (!slurmSide.some((p) => p.comm === 'slurmctld')) throw new Error(`no slurmctld of island ${island} found to pin`);
  const controlPlaneSide = [...all.filter((p) => CONTROL_PLANE_SERVICES.has(p.comm)).map((p) => p.pid), process.pid];
  for (const p of slurmSide) pin(p.pid, slurmCpus);
  for (const pid of controlPlaneSide) pin(pid, controlPlaneCpus);
  return {
    layout,
    slurmCpus,
    controlPlaneCpus,
    slurmProcesses: [...new Set(slurmSide.map((p) => p.comm))].sort(),
    restore: () => {
      for (const pid of [...slurmSide.map((p) => p.pid), ...controlPlaneSide]) pin(pid, every);
    },
  };
}
