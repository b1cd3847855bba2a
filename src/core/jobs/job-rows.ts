import type { UserConstraints } from '../placement';
import type { JobSpec } from '../sbatch/job-spec';
import type { JobState } from './lifecycle';

export interface JobRow {
  id: string;
  owner_id: string;
  slurm_user: string;
  idempotency_key: string | null;
  request_hash: Buffer;
  name: string;
  script: string;
  spec: JobSpec;
  environment: Record<string, string>;
  working_directory: string;
  island: string | null;
  partition: string | null;
  state: JobState;
  state_reason: string | null;
  slurm_job_id: string | null;
  array_size: number | null;
  depends_on: string[];
  hold: boolean;
  cancel_requested: boolean;
  dispatch_attempts: number;
  dispatch_lease_until: Date | null;
  batch_host: string | null;
  nodes: string | null;
  /** The submitter's placement constraints. */
  constraints: UserConstraints;
  /** A part of a split array: the job the user submitted, and which part this is. */
  parent_id: string | null;
  array_part: number | null;
  /** A split array: how many parts (hidden child jobs) run it. */
  split_into: number | null;
  exit_code: number | null;
  exit_signal: number | null;
  /** The --output pattern it was submitted with because its submitter gave none (src/core/jobs/output-path.ts). */
  default_output: string | null;
  /** Why the job went where it went (or was rejected): see PlacementRecord in scheduling/capacity.service. */
  placement: unknown | null;
  /** CPU time accounting measured (TotalCPU), where the query asked for it; null before accounting. */
  cpu_seconds?: number | null;
  submitted_at: Date;
  dispatched_at: Date | null;
  started_at: Date | null;
  ended_at: Date | null;
  updated_at: Date;
}

export interface TaskRow {
  job_id: string;
  task_id: number;
  slurm_job_id: string | null;
  state: JobState;
  state_reason: string | null;
  nodes: string | null;
  batch_host: string | null;
  exit_code: number | null;
  exit_signal: number | null;
  started_at: Date | null;
  ended_at: Date | null;
}

/** A task with the island and partition of the job or split-array part that runs it. */
export interface TaskLineRow extends TaskRow {
  island: string | null;
  partition: string | null;
  /** The task's CPU time from accounting (TotalCPU, all its runs); null before accounting. */
  cpu_seconds: number | null;
}

/** A state change the follower or the API decided on; written with its event in one statement. */
export interface StateChange {
  state: JobState;
  reason: string | null;
  exitCode?: number | null;
  exitSignal?: number | null;
  batchHost?: string | null;
  /** SLURM's hostlist of the allocation. */
  nodes?: string | null;
  partition?: string | null;
  startedAt?: Date | null;
  endedAt?: Date | null;
  /** The placement decision to store with the change (kept when absent). */
  placement?: unknown;
}

export type PendingTaskFields = Pick<TaskRow, 'state' | 'state_reason' | 'exit_code' | 'exit_signal' | 'ended_at'>;
