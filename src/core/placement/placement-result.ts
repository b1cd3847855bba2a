/**
 * What placement answers: the decision for a job, an array or a batch, with the explanation of
 * every candidate island (its score breakdown, or why it was rejected). These are the shapes
 * `dispatch/placement-decision.ts` stores in `jobs.placement`.
 */
import type { JobDemand } from './job-demand';
import type { UserConstraints } from './placement-options';

export interface ScoreBreakdown {
  fitsNow: boolean;
  /** Nodes that could hold the job now (counted up to the job's node count) and ever (usable nodes). */
  nodesFitNow: number;
  nodesEver: number;
  expectedStartMinutes: number;
  /** Component scores in [0, 1], before weighting. */
  start: number;
  price: number;
  performance: number;
  headroom: number;
}

export interface CandidateExplanation {
  island: string;
  /** null when rejected. */
  score: number | null;
  partition?: string;
  breakdown?: ScoreBreakdown;
  rejected?: string;
}

export type PlacementStatus = 'start-now' | 'queued' | 'unplaceable';

export interface JobPlacement {
  status: PlacementStatus;
  island: string | null;
  partition: string | null;
  score: number | null;
  expectedStartMinutes: number | null;
  /** Nodes reserved for the job in the capacity view when it starts now (one per needed node). */
  nodes: string[];
  /** Scored candidates best first, then rejected islands by name. Empty unless `explain`. */
  candidates: CandidateExplanation[];
  /** For `unplaceable`: why, summarized over all islands. */
  reason?: string;
}

export interface ArrayPart {
  island: string;
  partition: string;
  taskIds: number[];
  /** The `--array` expression of this part, with the part's `%N` throttle when the job had one. */
  expression: string;
  maxRunning: number | null;
  /** Tasks that fit now (each reserved in the capacity view); the rest queue on this island. */
  startNow: number;
  score: number;
  /** Nodes reserved for the tasks that start now: task t of the part uses nodes[t*N .. t*N+N-1], N the job's node count. */
  nodes: string[];
}

export interface ArrayPlacement {
  status: PlacementStatus;
  /** Contiguous slices of the task list, one per island, in task order. One job for the user. */
  parts: ArrayPart[];
  candidates: CandidateExplanation[];
  reason?: string;
}

export interface BatchJob {
  id: string;
  demand: JobDemand;
  constraints?: UserConstraints;
}

export type BatchDecision = ({ id: string; kind: 'job' } & JobPlacement) | ({ id: string; kind: 'array' } & ArrayPlacement);

export interface BatchResult {
  decisions: BatchDecision[];
  stats: { jobs: number; startNow: number; queued: number; unplaceable: number; arrayParts: number; shapes: number };
}
