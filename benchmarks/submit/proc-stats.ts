import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU accounting from /proc (Linux only): who used the machine's cores during a phase. Process
 * times include all threads; short-lived processes that exit inside a phase are not counted.
 */

const CLK_TCK = 100; // USER_HZ; 100 on every Linux we run on

/** CPU seconds of one process (user + system), or null when it is gone. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    return ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8')) / CLK_TCK;
  } catch {
    return null;
  }
}

function ticksOf(stat: string): number {
  // The command name is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
}

function commOf(stat: string): string {
  return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
}

/** The machine's busy and total jiffies (all cores), from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3] + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  /** CPU seconds per group (named pids first, then command names). */
  groups: Map<string, number>;
}

/** Groups: the pids given by name (our API, worker, this client), then a few daemons by command name. */
const DAEMONS: Record<string, string> = {
  postgres: 'postgres',
  'redis-server': 'redis',
  slurmctld: 'slurmctld',
  slurmrestd: 'slurmrestd',
  slurmd: 'slurmd',
  slurmdbd: 'slurmdbd',
  sshd: 'sshd',
};

/** A group may be several processes (an API cluster: its supervisor and the processes it runs). */
export function cpuSnapshot(named: Record<string, number | number[] | undefined>): CpuSnapshot {
  const groups = new Map<string, number>();
  const byPid = new Map<number, string>();
  for (const [name, pids] of Object.entries(named)) for (const pid of [pids ?? []].flat()) byPid.set(pid, name);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const group = byPid.get(Number(entry)) ?? DAEMONS[commOf(stat)] ?? 'other';
    groups.set(group, (groups.get(group) ?? 0) + ticksOf(stat) / CLK_TCK);
  }
  return { at: Date.now(), machine: machineTicks(), groups };
}

export interface CpuUsage {
  wallSeconds: number;
  /** Share of all cores busy, 0..1. */
  machineBusy: number;
  /** Cores used on average per group (1.0 = one full core), largest first. */
  coresByGroup: Record<string, number>;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUsage {
  const wall = Math.max(0.001, (after.at - before.at) / 1000);
  const cores: Array<[string, number]> = [];
  for (const [group, seconds] of after.groups) {
    // A group whose process appeared inside the phase counts from zero.
    const used = seconds - (before.groups.get(group) ?? 0);
    if (used > 0.005 * wall) cores.push([group, round(used / wall, 2)]);
  }
  cores.sort((a, b) => b[1] - a[1]);
  const totalTicks = after.machine.total - before.machine.total;
  return {
    wallSeconds: round(wall, 3),
    machineBusy: totalTicks > 0 ? round((after.machine.busy - before.machine.busy) / totalTicks, 3) : 0,
    coresByGroup: Object.fromEntries(cores),
  };
}

/** Phases' usage as one: their wall time summed, busy shares and cores weighted by each phase's length. */
export function combinedCpu(phases: CpuUsage[]): CpuUsage {
  const wall = phases.reduce((sum, phase) => sum + phase.wallSeconds, 0);
  const weighted = (share: (phase: CpuUsage) => number) => (wall > 0 ? phases.reduce((sum, phase) => sum + share(phase) * phase.wallSeconds, 0) / wall : 0);
  const groups = [...new Set(phases.flatMap((phase) => Object.keys(phase.coresByGroup)))];
  const cores = groups.map((group): [string, number] => [
    group,
    round(
      weighted((phase) => phase.coresByGroup[group] ?? 0),
      2,
    ),
  ]);
  cores.sort((a, b) => b[1] - a[1]);
  return {
    wallSeconds: round(wall, 3),
    machineBusy: round(
      weighted((phase) => phase.machineBusy),
      3,
    ),
    coresByGroup: Object.fromEntries(cores),
  };
}

/**
 * CPU per unit of work (a job): milliseconds per group, and of the whole machine (every core's busy
 * time, whoever used it). On a CPU-bound machine, two ways of doing the same work compare as the
 * inverse of their machine milliseconds per unit.
 */
export function cpuMsPer(usage: CpuUsage, units: number, cores: number): { machine: number; byGroup: Record<string, number> } {
  const per = (coresUsed: number) => (units > 0 ? round((coresUsed * usage.wallSeconds * 1000) / units, 3) : 0);
  return {
    machine: per(usage.machineBusy * cores),
    byGroup: Object.fromEntries(Object.entries(usage.coresByGroup).map(([group, used]) => [group, per(used)])),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
