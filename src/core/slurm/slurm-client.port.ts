import type { SubmitFeature } from '../sbatch/submit-features';
import type { JobSpec } from '../sbatch/job-spec';
import type { AccountingSource } from '../usage/accounting';

/**
 * The one way Archipelago talks to a SLURM cluster. Two adapters implement it: slurmrestd
 * (v0.0.38 on 22.05/23.02, v0.0.40-v0.0.42 on 23.11-25.x; per-user short-lived JWTs) and SSH
 * (`sbatch`, `squeue --json`, ... run as the job's owner). Every call that acts for a person names
 * that person's POSIX user: no call runs as anyone else. What differs between adapters is declared
 * by methods (accounting is `runsOf`, the settle time `submitSettleMs`), never sniffed at runtime.
 */
export interface SlurmClient extends AccountingSource {
  /** Submits a batch job as `user`. Throws SlurmRejectedError when SLURM refuses the job. */
  submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult>;

  /**
   * Jobs as SLURM currently knows them. With `since`, returns `null` when nothing changed since
   * that time (slurmrestd answers 304), so a follower can ask cheaply every tick.
   */
  listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null>;

  /** One job (all its array tasks). Returns `[]` when SLURM no longer knows the id. */
  getJob(jobId: number): Promise<SlurmJobRecord[]>;

  /**
   * Only the states of these jobs (array tasks one by one), in one light call whose cost grows with
   * the ids asked, not with the jobs SLURM holds; ids SLURM no longer knows are absent. `null` when
   * the adapter cannot ask by id (slurmrestd v0.0.38, or one that does not serve `jobs/state`; SSH): follow
   * with `listJobs` then. A task split off its array is named by its own job id, so ask for an
   * array alone when its tasks must be told from other jobs'.
   */
  jobStates(jobIds: readonly number[]): Promise<SlurmJobState[] | null>;

  /** Cancels as `user` (the owner). Cancelling a finished or unknown job is not an error. */
  cancel(user: string, jobId: number): Promise<void>;

  /** Holds (`true`) or releases (`false`) a pending job as `user`. */
  setHold(user: string, jobId: number, hold: boolean): Promise<void>;

  /** Every node of the cluster with its resources and what is allocated now (one call, as the read user). */
  listNodes(): Promise<SlurmNodeRecord[]>;

  /** Whether the controller answers. */
  ping(): Promise<SlurmPing>;

  /**
   * How long (ms) after a submit call started it may still create a job, when the call ended
   * without an answer; 0 when the adapter cannot bound it. A dispatcher keeps its claim on a job
   * at least this long, so a late submission is never followed by a second one.
   */
  submitSettleMs(): number;

  /**
   * What this way of submitting cannot send (see SubmitFeature): none over SSH. Placement keeps
   * jobs that need one of them off the island.
   */
  unsendable(): Promise<readonly SubmitFeature[]>;

  /** Releases pooled connections. */
  close(): Promise<void>;
}

/** Unix seconds. */
export type SlurmTimestamp = number;

export interface SlurmSubmitRequest {
  /** The script, starting with `#!`. Directives in it are not re-read by the adapters: `spec` rules. */
  script: string;
  /** Normalized options; dependencies already hold SLURM job ids. */
  spec: JobSpec;
  /** Always set: slurmrestd would otherwise run the job in its own directory. */
  workingDirectory: string;
  /** The job's complete environment (slurmrestd inherits nothing). */
  environment: Record<string, string>;
  /** Carries our job id so a restarted dispatcher can find a job it already submitted. */
  comment: string;
}

export interface SlurmSubmitResult {
  jobId: number;
  /** Messages SLURM attached to an accepted job (e.g. "job is held"). */
  warnings: string[];
}

export interface SlurmJobSnapshot {
  /** The time to pass as `since` next time. */
  asOf: SlurmTimestamp;
  jobs: SlurmJobRecord[];
}

/** A job (or one array task) as SLURM reports it, reduced to what the control plane uses. */
export interface SlurmJobRecord {
  jobId: number;
  /** For array tasks: the array's master id and this task's index. */
  arrayJobId?: number;
  arrayTaskId?: number;
  /** For the pending remainder of an array, e.g. `3-9%2`. */
  arrayTaskString?: string;
  name: string;
  userName: string;
  comment: string;
  /** SLURM's state string as printed (flags such as COMPLETING take precedence over the base state). */
  state: string;
  stateReason: string;
  partition: string;
  nodes: string;
  batchHost: string;
  /** Decoded exit code of the batch script, or null while not finished. */
  exitCode: number | null;
  /** Signal that ended the script, if any. */
  exitSignal: number | null;
  submitTime: SlurmTimestamp | null;
  startTime: SlurmTimestamp | null;
  endTime: SlurmTimestamp | null;
  standardOutput: string;
  standardError: string;
  workingDirectory: string;
}

/** One entry of `jobStates`: a job, or one array task (then `jobId` is the task's own id or its array's). */
export interface SlurmJobState {
  jobId: number;
  arrayTaskId?: number;
  /** As in SlurmJobRecord.state. */
  state: string;
}

/** A node as SLURM reports it, reduced to what placement uses. Memory in MiB. */
export interface SlurmNodeRecord {
  name: string;
  /** Base state as printed (`IDLE`, `MIXED`, `ALLOCATED`, `DOWN`...; v0.0.38 prints it in lower case). */
  state: string;
  /** e.g. `['DRAIN']`. */
  stateFlags: string[];
  cpus: number;
  allocCpus: number;
  idleCpus: number;
  realMemoryMb: number;
  allocMemoryMb: number;
  /** Configured and active features (`--constraint` matches the active ones). */
  features: string[];
  activeFeatures: string[];
  partitions: string[];
  /** GRES as SLURM prints them: `gpu:a100:4(S:0-1)`, comma-separated; '' when none. */
  gres: string;
  gresUsed: string;
}

export interface SlurmPing {
  up: boolean;
  hostname: string;
  version: string;
}

/** SLURM refused a request for a reason the caller caused (bad partition, too much memory...). */
export class SlurmRejectedError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'SlurmRejectedError';
  }
}

/**
 * The adapter's API cannot express the job (an option it lacks, such as `--signal=B:` on
 * slurmrestd 22.05), so SLURM was not asked; another way to the same SLURM (sbatch over SSH) may
 * express it. Rejected as such when there is none.
 */
export class SlurmInexpressibleError extends SlurmRejectedError {
  constructor(message: string) {
    super(message, undefined);
    this.name = 'SlurmInexpressibleError';
  }
}

/**
 * The job can never be submitted as it stands on this island, and SLURM was not asked: its owner's
 * POSIX account is missing there or is not a tenant's, its working directory cannot be entered.
 * Retrying cannot help; the dispatcher ends the job FAILED with this reason.
 */
export class SubmissionImpossibleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubmissionImpossibleError';
  }
}

/** SLURM could not be reached or answered in a way that says nothing about the request itself. */
export class SlurmUnavailableError extends Error {
  /**
   * For a submission that may have reached SLURM although no answer came back: the time (epoch ms)
   * after which it can no longer create a job. Submitting again before then could run it twice.
   */
  readonly settlesAt?: number;

  constructor(message: string, options?: { cause?: unknown; settlesAt?: number }) {
    super(message, options);
    this.name = 'SlurmUnavailableError';
    this.settlesAt = options?.settlesAt;
  }
}
