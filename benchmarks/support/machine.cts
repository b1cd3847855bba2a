// .cts: CommonJS wherever it is compiled, so the ESM operators benchmark imports the same record.
import { cpus, hostname, loadavg, totalmem } from 'node:os';

/**
 * The machine a benchmark ran on, as its results file records it. The load before the benchmark
 * began is what says whether other work shared the cores; a load taken at the end also counts the
 * benchmark's own processes (SLURM, PostgreSQL, the control plane it started), so it is kept apart.
 */
export interface MachineRecord {
  hostname: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  /** 1-, 5- and 15-minute load averages when the benchmark began. */
  loadavgAtStart: number[];
  /** The same when it wrote its results. */
  loadavgAtEnd?: number[];
}

const loadNow = (): number[] => loadavg().map((v) => Math.round(v * 100) / 100);

/** Called first thing in a benchmark, before it starts anything of its own. */
export function machineAtStart(): MachineRecord {
  const cores = cpus();
  return {
    hostname: hostname(),
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? '',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavgAtStart: loadNow(),
  };
}

/** The start record with the load as the results are written. */
export function machineAtEnd(start: MachineRecord): MachineRecord {
  return { ...start, loadavgAtEnd: loadNow() };
}
