/**
 * The normalized form of an sbatch request: what `#SBATCH` directives and command-line style
 * options mean once sbatch's own parsing rules have been applied. Every adapter renders SLURM
 * calls from this shape (REST job properties, `sbatch` argv), so it holds values, not spellings.
 */

export type DependencyKind = 'after' | 'afterany' | 'afterok' | 'afternotok' | 'aftercorr' | 'afterburstbuffer' | 'singleton';

export interface DependencyTarget {
  /** The job id as the user wrote it: an Archipelago job id (translated to SLURM at dispatch). */
  jobId: string;
  /** `after:<id>+<minutes>`: start this many minutes after the target began. */
  delayMinutes?: number;
}

export interface DependencyClause {
  kind: DependencyKind;
  /** Empty for `singleton`. */
  targets: DependencyTarget[];
}

export interface DependencySpec {
  /** `,` means every clause must hold; `?` means any one is enough. sbatch forbids mixing them. */
  combine: 'all' | 'any';
  clauses: DependencyClause[];
}

export interface ArraySpec {
  /** The expression as SLURM accepts it, e.g. `0-15:4%2` or `1,3,5`. */
  expression: string;
  /** Every task index the expression denotes, ascending, without duplicates. */
  taskIds: number[];
  /** The `%N` throttle, when given. */
  maxRunning?: number;
}

export interface ExportSpec {
  /** ALL: inherit the submission environment; NONE: only what is listed; NIL: like NONE, sbatch's --export=NIL. */
  mode: 'ALL' | 'NONE' | 'NIL';
  /** Variables named in --export; a null value means "pass through from the submit environment". */
  variables: Record<string, string | null>;
}

export interface JobSpec {
  jobName?: string;
  partition?: string;
  account?: string;
  qos?: string;
  reservation?: string;
  comment?: string;

  nodes?: { min: number; max?: number };
  ntasks?: number;
  ntasksPerNode?: number;
  cpusPerTask?: number;
  /** `--threads-per-core`: nodes with at least this many hardware threads per core, and as many used per core. */
  threadsPerCore?: number;
  /** `--mem`, in MiB. 0 asks for all the memory of each node. */
  memPerNodeMb?: number;
  memPerCpuMb?: number;
  memPerGpuMb?: number;
  /** Minutes; `null` means UNLIMITED / INFINITE. */
  timeLimitMinutes?: number | null;
  timeMinMinutes?: number;

  gres?: string;
  gpus?: string;
  gpusPerNode?: string;
  gpusPerTask?: string;
  constraint?: string;
  /**
   * `--switches=count[@max-time]`: at most this many leaf switches. Islands have no switch
   * topology in SLURM; placement maps it to island tiers instead (a count of 2 or more lets a
   * multi-node job use a loose island) and it is not sent to SLURM. The wait is kept, not used.
   */
  switches?: { count: number; waitMinutes?: number };
  exclusive?: 'exclusive' | 'user' | 'mcs';
  licenses?: string;

  array?: ArraySpec;
  dependency?: DependencySpec;
  hold?: boolean;
  /** `--begin`, kept as SLURM accepts it (e.g. `now+1hour`, `2026-12-01T10:00`). */
  begin?: string;
  nice?: number;
  requeue?: boolean;
  /** `--signal`, e.g. `B:USR1@60`. */
  signal?: string;
  mailType?: string[];
  mailUser?: string;

  /** Output, error and input file patterns as written (`%j`, `%A`, `%a`, `%x`, `%u`, `%N`, `%%`). */
  output?: string;
  error?: string;
  input?: string;
  openMode?: 'append' | 'truncate';
  /** `--chdir`: the job's working directory as written (validated against the caller's roots later). */
  chdir?: string;
  export?: ExportSpec;
}

/** What parsing a submission yields: the spec plus the script exactly as it will run. */
export interface ParsedSubmission {
  spec: JobSpec;
  script: string;
}
