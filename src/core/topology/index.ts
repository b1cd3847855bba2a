/** Topology: latency-bounded island grouping (pure logic). See README.md in this folder. */
export { computeIslands, DEFAULTS as TOPOLOGY_DEFAULTS } from './islands';
export type {
  Island,
  Move,
  PreviousIsland,
  ProbeRequest,
  RttSample,
  Tier,
  TopologyInput,
  TopologyNode,
  TopologyOptions,
  TopologyResult,
  TopologyStats,
  Unassigned,
  UnassignedReason,
  Violation,
} from './types';
export { EMPTY_STABILITY_STATE, stableIslands } from './stability';
export type { StabilityOptions, StabilityState, StableResult } from './stability';
