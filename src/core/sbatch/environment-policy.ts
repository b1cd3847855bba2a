import { findExact } from './sbatch-options';

/**
 * Which variables a job's environment may not carry. The job's environment is also the
 * environment sbatch runs in on an SSH island (`env -i … sbatch --export=ALL`), and SLURM reads its
 * own namespace everywhere: sbatch takes SBATCH_* (and SLURM_CLUSTERS, SLURM_HINT) as options,
 * libslurm takes SLURM_CONF, SLURM_CONF_SERVER, SLURM_JWT… as settings, slurmstepd takes
 * SLURM_UMASK, SLURM_PRIO_PROCESS, SLURM_RLIMIT_* and SLURM_SPANK_* from the job's environment.
 * The loader and libc variables would run code of the caller's choosing inside our sbatch call or
 * send its controller lookups elsewhere. Refused at the edge, each naming what it would have done;
 * the adapters refuse them again for rows stored before this rule. Pure: no I/O.
 */

/**
 * sbatch's own input variables and the option each stands for, SLURM 22.05 through 26.x
 * (`env_vars[]` and `early_env_vars[]` of src/sbatch/opt.c in every release since 22.05).
 */
export const SBATCH_OPTION_VARIABLES: Readonly<Record<string, string>> = {
  SBATCH_ACCOUNT: 'account',
  SBATCH_ACCTG_FREQ: 'acctg-freq',
  SBATCH_ARRAY_INX: 'array',
  SBATCH_BATCH: 'batch',
  SBATCH_BURST_BUFFER: 'bb',
  SBATCH_CLUSTER_CONSTRAINT: 'cluster-constraint',
  SBATCH_CLUSTERS: 'clusters',
  SBATCH_CONSOLIDATE_SEGMENTS: 'consolidate-segments',
  SBATCH_CONSTRAINT: 'constraint',
  SBATCH_CONTAINER: 'container',
  SBATCH_CONTAINER_ID: 'container-id',
  SBATCH_CORE_SPEC: 'core-spec',
  SBATCH_CPU_FREQ_REQ: 'cpu-freq',
  SBATCH_CPUS_PER_GPU: 'cpus-per-gpu',
  SBATCH_DEBUG: 'verbose',
  SBATCH_DELAY_BOOT: 'delay-boot',
  SBATCH_DISTRIBUTION: 'distribution',
  SBATCH_ERROR: 'error',
  SBATCH_EXCLUSIVE: 'exclusive',
  SBATCH_EXPORT: 'export',
  SBATCH_GET_USER_ENV: 'get-user-env',
  SBATCH_GPU_BIND: 'gpu-bind',
  SBATCH_GPU_FREQ: 'gpu-freq',
  SBATCH_GPUS: 'gpus',
  SBATCH_GPUS_PER_NODE: 'gpus-per-node',
  SBATCH_GPUS_PER_SOCKET: 'gpus-per-socket',
  SBATCH_GPUS_PER_TASK: 'gpus-per-task',
  SBATCH_GRES: 'gres',
  SBATCH_GRES_FLAGS: 'gres-flags',
  SBATCH_HINT: 'hint',
  SBATCH_IGNORE_PBS: 'ignore-pbs',
  SBATCH_INPUT: 'input',
  SBATCH_JOB_NAME: 'job-name',
  SBATCH_MEM_BIND: 'mem-bind',
  SBATCH_MEM_PER_CPU: 'mem-per-cpu',
  SBATCH_MEM_PER_GPU: 'mem-per-gpu',
  SBATCH_MEM_PER_NODE: 'mem',
  SBATCH_NETWORK: 'network',
  SBATCH_NO_KILL: 'no-kill',
  SBATCH_NO_REQUEUE: 'no-requeue',
  SBATCH_OPEN_MODE: 'open-mode',
  SBATCH_OUTPUT: 'output',
  SBATCH_OVERCOMMIT: 'overcommit',
  SBATCH_PARTITION: 'partition',
  SBATCH_POWER: 'power',
  SBATCH_PROFILE: 'profile',
  SBATCH_QOS: 'qos',
  SBATCH_REQ_SWITCH: 'switches',
  SBATCH_REQUEUE: 'requeue',
  SBATCH_RESERVATION: 'reservation',
  SBATCH_RUNTIME: 'runtime',
  SBATCH_SEGMENT_SIZE: 'segment',
  SBATCH_SIGNAL: 'signal',
  SBATCH_SPREAD_JOB: 'spread-job',
  SBATCH_SPREAD_SEGMENTS: 'spread-segments',
  SBATCH_THREAD_SPEC: 'thread-spec',
  SBATCH_THREADS_PER_CORE: 'threads-per-core',
  SBATCH_TIMELIMIT: 'time',
  SBATCH_TRES_BIND: 'tres-bind',
  SBATCH_TRES_PER_TASK: 'tres-per-task',
  SBATCH_USE_MIN_NODES: 'use-min-nodes',
  SBATCH_WAIT: 'wait',
  SBATCH_WAIT4SWITCH: 'switches',
  SBATCH_WAIT_ALL_NODES: 'wait-all-nodes',
  SBATCH_WCKEY: 'wckey',
  SLURM_CLUSTERS: 'clusters',
  SLURM_HINT: 'hint',
};

/**
 * SLURM's namespaces: its commands read these as options (a new release adds more every time) and
 * its daemons as settings. A prefix, not a list, so a variable a later SLURM starts reading is
 * refused already.
 */
const SLURM_PREFIXES = ['SBATCH_', 'SALLOC_', 'SRUN_', 'SLURM_', 'SLURMD_'] as const;

/** What the dynamic loader and libc read at start: code to load, tunables, resolver redirections. */
const LOADER_PREFIXES = ['LD_'] as const;
const LOADER_NAMES: ReadonlySet<string> = new Set(['GCONV_PATH', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'NLSPATH', 'RES_OPTIONS']);

/** Set by Archipelago itself (the `--export` mode, as sbatch records it), never by the caller. */
export const SET_BY_ARCHIPELAGO: ReadonlySet<string> = new Set(['SLURM_EXPORT_ENV']);

function optionVerdict(name: string, option: string): string {
  const def = findExact(option);
  if (def?.status === 'supported') return `${name} is read by sbatch as --${option}; pass --${option} as an option instead`;
  if (def?.status === 'refused') return `${name} is read by sbatch as --${option}, which is refused: ${def.reason}`;
  return `${name} is read by sbatch as --${option}, which Archipelago does not accept`;
}

/** Why `name` may not be set in a job's environment, or null when it may. */
export function environmentVariableRefusal(name: string): string | null {
  const option = SBATCH_OPTION_VARIABLES[name];
  if (option !== undefined) return optionVerdict(name, option);
  if (SLURM_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return `${name} is in SLURM's own namespace (${SLURM_PREFIXES.map((p) => `${p}*`).join(', ')}), which SLURM reads as options or settings; it cannot be set for a job`;
  }
  if (LOADER_NAMES.has(name) || LOADER_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return `${name} changes how programs are loaded or resolve hosts (LD_*, GCONV_PATH, GLIBC_TUNABLES, …); it cannot be set for a job`;
  }
  return null;
}

/** The first refusal among a stored job environment's variables (those Archipelago sets aside), or null. */
export function storedEnvironmentRefusal(environment: Record<string, string>): string | null {
  for (const name of Object.keys(environment)) {
    if (SET_BY_ARCHIPELAGO.has(name)) continue;
    const refusal = environmentVariableRefusal(name);
    if (refusal) return refusal;
  }
  return null;
}
