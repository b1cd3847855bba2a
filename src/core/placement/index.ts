/**
 * The public surface of scheduling (see README.md): capacity snapshots and their refresh, job
 * demand, and capacity-aware placement. The dispatcher uses placement through CapacityService
 * (capacity.service.ts, imported directly: it is the one Nest part) and dispatch/placement-decision.ts.
 * The pieces placement is built from (filters, score, shapes, reservations) stay internal.
 */
export * from './capacity';
export * from './capacity-refresh';
export * from './feature-constraint';
export * from './job-demand';
export { DEFAULT_WEIGHTS, type PlacementOptions, type ScoreWeights, type UserConstraints } from './placement-options';
export type {
  ArrayPart,
  ArrayPlacement,
  BatchDecision,
  BatchJob,
  BatchResult,
  CandidateExplanation,
  JobPlacement,
  PlacementStatus,
  ScoreBreakdown,
} from './placement-result';
export { placeArray, placeJob, placeMany } from './place';
export { Placer } from './placer';
export { formatExplanation } from './explanation';
export { renderTaskIds } from './array-split';
export { PlacementIndex, IslandState, NodeClass } from './placement-index';
