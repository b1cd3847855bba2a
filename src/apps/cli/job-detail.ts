/** `scontrol show job`'s text: one job as SLURM's Key=Value lines. Pure. */

import { compactState, formatExitCode, formatTimeLimit, formatTimestamp } from './format';
import type { JobView } from './job-filters';

const orNone = (value: string | number | null | undefined) => (value === null || value === undefined || value === '' ? '(null)' : String(value));

/** The fields scontrol prints that Archipelago knows, in scontrol's order, with Island and SlurmJobId added. */
export function scontrolJobText(job: JobView): string {
  const nodes = job.options.nodes;
  const lines: Array<Array<[string, string | number | null | undefined]>> = [
    [
      ['JobId', job.id],
      ['JobName', job.name],
    ],
    [['UserId', job.user]],
    [
      ['JobState', job.state],
      ['Reason', job.stateReason ?? 'None'],
      ['ST', compactState(job.state)],
    ],
    [
      ['Island', job.island],
      ['Partition', job.partition],
      ['SlurmJobId', job.slurmJobId],
    ],
    [
      ['NumNodes', nodes ? (nodes.max && nodes.max !== nodes.min ? `${nodes.min}-${nodes.max}` : nodes.min) : 1],
      ['NumTasks', job.options.ntasks ?? 1],
      ['CPUs/Task', job.options.cpusPerTask ?? 1],
    ],
    [['TimeLimit', formatTimeLimit(job.options.timeLimitMinutes) || '(null)']],
    [
      ['SubmitTime', formatTimestamp(job.submittedAt)],
      ['StartTime', formatTimestamp(job.startedAt)],
      ['EndTime', formatTimestamp(job.endedAt)],
    ],
    [
      ['BatchHost', job.batchHost],
      ['ExitCode', formatExitCode(job) || '0:0'],
    ],
  ];
  return lines
    .map((pairs) => `   ${pairs.map(([key, value]) => `${key}=${orNone(value)}`).join(' ')}`)
    .join('\n')
    .replace(/^ {3}/, '');
}
