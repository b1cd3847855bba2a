import type { JobSpec } from './job-spec';

/**
 * What sbatch derives from the options before it sends a job (SLURM 22.05 sbatch/opt.c and
 * slurm_opt.c), so a job sent another way (slurmrestd) asks for the same resources. Pure.
 * Compared with native sbatch on a live island in test/integration/sbatch-derivations.test.ts.
 */

/**
 * `-n` below `-N`: sbatch warns "can't run N processes on M nodes, setting nnodes to N" and lowers
 * the node range so that neither end exceeds the task count (`-N2-3 -n1` → 1, `-N1-3 -n2` → 1-2).
 */
export function lowerNodesToTasks(spec: JobSpec): JobSpec {
  const { nodes, ntasks } = spec;
  if (nodes === undefined || ntasks === undefined) return spec;
  const min = Math.min(nodes.min, ntasks);
  const max = nodes.max === undefined ? undefined : Math.min(nodes.max, ntasks);
  if (min === nodes.min && max === nodes.max) return spec;
  return { ...spec, nodes: max === undefined || max === min ? { min } : { min, max } };
}

/**
 * The task count sbatch implies when `-n` is absent and `-N` is given: `--ntasks-per-node` per node,
 * else one per node, so it asks for that many times `-c` CPUs (native: `-N2` is 2 CPUs, `-N2 -c4`
 * 8). slurmrestd v0.0.38 has no key for the total minimum CPU count and, given `nodes` alone, asks
 * for 1 CPU: the REST adapter sends this many tasks, which slurmctld turns into sbatch's minimum.
 */
export function impliedTaskCount(spec: JobSpec): number | undefined {
  if (spec.ntasks !== undefined || spec.nodes === undefined) return undefined;
  return spec.nodes.min * (spec.ntasksPerNode ?? 1);
}

/** The CPUs the job asks for, as SLURM records them (sacct's ReqCPUS, scontrol's NumCPUs): tasks × cpus-per-task. */
export function requestedCpus(spec: Pick<JobSpec, 'ntasks' | 'nodes' | 'ntasksPerNode' | 'cpusPerTask'>): number {
  return (spec.ntasks ?? impliedTaskCount(spec) ?? 1) * (spec.cpusPerTask ?? 1);
}
