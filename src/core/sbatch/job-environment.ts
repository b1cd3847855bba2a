import type { JobSpec } from './job-spec';
import { renderDependency } from './render-dependency';

/**
 * The variables sbatch itself puts into a job's environment, which slurmd does not add: a job
 * submitted any other way (slurmrestd) lacks them unless the submitter adds them, and scripts
 * rely on them (`export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK`; `srun` inside the job reads
 * SLURM_CPUS_PER_TASK as its `-c`). Observed against native sbatch on SLURM 22.05 and 24.11
 * (test/integration/job-environment.test.ts compares both, variable by variable). Pure.
 *
 * These are derived by Archipelago, never taken from the caller: the caller's own SLURM_* names
 * stay refused (environment-policy.ts).
 */

/** Where and from where a job was submitted, as sbatch would record it. */
export interface SubmitOrigin {
  /** sbatch's working directory at submission: here the job's working directory. */
  submitDir: string;
  /** The host sbatch ran on: the island's login or controller host. */
  submitHost: string;
}

/**
 * `SLURM_GET_USER_ENV=1`: slurmd loads the job user's login environment (`su - user`) under the
 * job's own variables (those win). sbatch sends it for every `--export` other than plain ALL;
 * Archipelago sends it always, because the submitting shell whose environment ALL would copy is
 * remote: HOME, USER, LOGNAME, SHELL, MAIL come from the island's own login environment.
 */
export const LOGIN_ENVIRONMENT: Readonly<Record<string, string>> = { SLURM_GET_USER_ENV: '1' };

/** What sbatch's option handling adds (src/sbatch/opt.c `_opt_verify`, sbatch.c), for the options Archipelago accepts. */
export function sbatchOptionVariables(spec: JobSpec): Record<string, string> {
  const env: Record<string, string> = {};
  if (spec.cpusPerTask !== undefined) env.SLURM_CPUS_PER_TASK = String(spec.cpusPerTask);
  if (spec.ntasksPerNode !== undefined) env.SLURM_NTASKS_PER_NODE = String(spec.ntasksPerNode);
  if (spec.threadsPerCore !== undefined) env.SLURM_THREADS_PER_CORE = String(spec.threadsPerCore);
  if (spec.openMode !== undefined) env.SLURM_OPEN_MODE = spec.openMode === 'append' ? 'a' : 't';
  if (spec.dependency !== undefined) env.SLURM_JOB_DEPENDENCY = renderDependency(spec.dependency);
  // sbatch records its own nice value (0 here) so the job runs at the priority it was submitted with.
  env.SLURM_PRIO_PROCESS = '0';
  return env;
}

/**
 * Everything sbatch would have added for `spec` submitted from `origin`: what a submission that
 * does not go through sbatch (slurmrestd) must send itself. `spec.dependency` must already hold
 * SLURM job ids, as at dispatch.
 */
export function sbatchDerivedEnvironment(spec: JobSpec, origin: SubmitOrigin): Record<string, string> {
  return {
    ...LOGIN_ENVIRONMENT,
    ...sbatchOptionVariables(spec),
    SLURM_SUBMIT_DIR: origin.submitDir,
    SLURM_SUBMIT_HOST: origin.submitHost,
  };
}
