/** Capacity-aware placement (see README.md). `chooseIsland` in placement.ts is the dispatcher's current entry point. */
export * from './capacity';
export * from './capacity-refresh';
export * from './feature-constraint';
export * from './job-demand';
export * from './place';
export { PlacementIndex, IslandState, NodeClass } from './placement-index';
export { chooseIsland, type IslandCandidate, type PlacementRequest, type PlacementDecision } from './placement';
