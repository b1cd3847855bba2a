/** The human tables for jobs: squeue's default columns and sacct's. Pure. */

import { Column, compactState, elapsedSeconds, formatDuration, formatExitCode, formatTimestamp, isTerminalState, table } from './format';
import type { JobView, TaskLineView } from './job-filters';
import { requestedCpus as requestedCpusOfSpec } from '../../core/sbatch/sbatch-derivations';

/** States in which a job holds nodes, so NODELIST names them instead of a reason. */
const HOLDS_NODES = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING']);

export function nodeListOrReason(job: JobView): string {
  if (HOLDS_NODES.has(job.state)) return job.batchHost ?? '';
  if (isTerminalState(job.state)) return job.stateReason ? `(${job.stateReason})` : '';
  return `(${job.stateReason ?? (job.state === 'ACCEPTED' || job.state === 'DISPATCHING' ? 'Dispatching' : 'None')})`;
}

/** squeue's default format "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R", plus the island. */
export function squeueTable(jobs: readonly JobView[], now: Date, header = true): string {
  const columns: Column<JobView>[] = [
    { header: 'JOBID', value: (j) => j.id, align: 'right' },
    { header: 'PARTITION', value: (j) => j.partition ?? '', align: 'right', max: 9 },
    { header: 'ISLAND', value: (j) => j.island ?? '', max: 12 },
    { header: 'NAME', value: (j) => j.name, align: 'right', max: 8 },
    { header: 'USER', value: (j) => j.user, align: 'right', max: 8 },
    { header: 'ST', value: (j) => compactState(j.state), align: 'right' },
    { header: 'TIME', value: (j) => formatDuration(elapsedSeconds(j, now)), align: 'right' },
    { header: 'NODES', value: (j) => String(j.options.nodes?.min ?? 1), align: 'right' },
    { header: 'NODELIST(REASON)', value: nodeListOrReason },
  ];
  const text = table(jobs, columns);
  return header ? text : text.split('\n').slice(1).join('\n');
}

/** CPUs the job asked for (sacct's ReqCPUS), with sbatch's own derivations for -N without -n. */
export function requestedCpus(job: JobView): number {
  return requestedCpusOfSpec(job.options);
}

/**
 * An array as sacct prints it: one line per task, `<id>_<task>`, with the task's own state, exit
 * code, times and island (a split array's tasks run on several), so Elapsed and CPUTime are the
 * task's, each asking for the array's per-task CPUs. An array none of whose tasks SLURM has
 * reported yet stays one line.
 */
export function arrayTaskLines(job: JobView, tasks: readonly TaskLineView[]): JobView[] {
  if (tasks.length === 0) return [job];
  return tasks.map((t) => ({
    ...job,
    id: t.id,
    state: t.state,
    stateReason: t.stateReason,
    island: t.island,
    partition: t.partition,
    slurmJobId: t.slurmJobId,
    exitCode: t.exitCode,
    exitSignal: t.exitSignal,
    batchHost: t.batchHost,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    cpuSeconds: t.cpuSeconds,
  }));
}

/** sacct's default columns (JobID JobName Partition State ExitCode) with the island, times and usage (ReqCPUS, Elapsed, CPUTime = Elapsed × ReqCPUS, TotalCPU). */
export function sacctTable(jobs: readonly JobView[], now: Date, header = true): string {
  const columns: Column<JobView>[] = [
    { header: 'JobID', value: (j) => j.id },
    { header: 'JobName', value: (j) => j.name, max: 10 },
    { header: 'Partition', value: (j) => j.partition ?? '', max: 10 },
    { header: 'Island', value: (j) => j.island ?? '' },
    { header: 'State', value: (j) => j.state },
    { header: 'ExitCode', value: formatExitCode, align: 'right' },
    { header: 'ReqCPUS', value: (j) => String(requestedCpus(j)), align: 'right' },
    { header: 'Elapsed', value: (j) => formatDuration(elapsedSeconds(j, now)), align: 'right' },
    { header: 'CPUTime', value: (j) => formatDuration(elapsedSeconds(j, now) * requestedCpus(j)), align: 'right' },
    { header: 'Submit', value: (j) => formatTimestamp(j.submittedAt) },
    { header: 'Start', value: (j) => formatTimestamp(j.startedAt) },
    { header: 'End', value: (j) => formatTimestamp(j.endedAt) },
    // CPU time the processes really used, from the island's accounting: blank until it has it.
    { header: 'TotalCPU', value: (j) => (j.cpuSeconds == null ? '' : formatDuration(Math.round(j.cpuSeconds))), align: 'right' },
  ];
  const text = table(jobs, columns);
  return header ? text : text.split('\n').slice(1).join('\n');
}

/** One line of `sbatch --wait` progress, printed when it changes. */
export function progressLine(job: JobView): string {
  const where = job.island ? ` on ${job.island}${job.batchHost ? ` (${job.batchHost})` : ''}` : '';
  const reason = job.stateReason && !HOLDS_NODES.has(job.state) ? ` (${job.stateReason})` : '';
  const exit = isTerminalState(job.state) && job.exitCode !== null ? `, exit code ${job.exitCode}` : '';
  return `job ${job.id}: ${job.state}${reason}${where}${exit}`;
}

/** sbatch --wait's exit status: 0 when the job completed, its exit code when it failed with one, else 1. */
export function waitExitCode(job: JobView): number {
  if (job.state === 'COMPLETED' && !job.exitCode) return 0;
  if (job.exitCode !== null && job.exitCode > 0) return Math.min(job.exitCode, 255);
  return 1;
}
