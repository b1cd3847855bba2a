import type { JobSpec } from '../sbatch/job-spec';
import type { JobGateFacts } from './veid-policy';

/** Runtime assumed for a job without a time limit (the partition default applies, unknown here). */
const ASSUMED_MINUTES = 60;

/** What the identity gates look at in a normalized job: size, GPUs, partitions and requested node-hours. */
export function jobGateFacts(spec: JobSpec): JobGateFacts & { nodeHours: number } {
  const nodes = spec.nodes?.min ?? 1;
  const gpus = Boolean(spec.gpus || spec.gpusPerNode || spec.gpusPerTask || /(^|,)gpu(:|$|,)/.test(spec.gres ?? ''));
  const minutes = spec.timeLimitMinutes === null ? Infinity : (spec.timeLimitMinutes ?? ASSUMED_MINUTES);
  const tasks = spec.array?.taskIds.length ?? 1;
  return {
    nodes,
    gpus,
    partitions: spec.partition
      ? spec.partition
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
      : [],
    nodeHours: (nodes * minutes * tasks) / 60,
  };
}
