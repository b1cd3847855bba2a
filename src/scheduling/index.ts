/** Capacity-aware placement (see README.md); the dispatcher uses it through CapacityService and dispatch/placement-decision.ts. */
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
export * from './place';
export { PlacementIndex, IslandState, NodeClass } from './placement-index';
