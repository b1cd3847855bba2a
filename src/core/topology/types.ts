/**
 * Topology: the input and output shapes of island grouping (pure data, no I/O).
 * See README.md in this folder for the rules; islands.ts for the algorithm.
 */

export interface TopologyNode {
  id: string;
  /** Soft labels (region, zone, providerGroup, ...). Never used as evidence of closeness; only to pick probe targets. */
  tags?: Record<string, string | undefined>;
  /** Hard placement tags: two nodes whose hard-tag maps differ in any key or value never share an island. */
  hardTags?: Record<string, string>;
  /** A busy node is never moved by the grouping; if it now breaks its island's bound that is reported as a violation. */
  busy?: boolean;
  /** Island the node is in now (the control plane's view). Takes precedence over `previous[].members`. */
  currentIsland?: string;
}

export interface RttSample {
  a: string;
  b: string;
  /** Median round-trip time over the probe window, milliseconds. */
  rttMs: number;
  /** Loss fraction 0..1 over the probe window (absent = 0). */
  loss?: number;
  /** Epoch milliseconds of the measurement. */
  measuredAt: number;
}

export interface Tier {
  name: string;
  /** Every pair inside an island of this tier has an RTT upper bound <= boundMs. */
  boundMs: number;
  /** Islands of this tier smaller than this are dissolved (their nodes try the next tier). Default options.minIslandSize. */
  minIslandSize?: number;
}

export interface PreviousIsland {
  id: string;
  tier: string;
  anchor?: string;
  /** Extra inference waypoints (the last result's `waypoints`): keeps pairs proven through them provable. */
  waypoints?: string[];
  /** Used for nodes that carry no `currentIsland`. */
  members?: string[];
}

export interface TopologyOptions {
  /**
   * Hysteresis margin (default 0.1). A node joins an island (or a new island is formed) only if every
   * pair fits within bound / (1 + margin); an existing member stays as long as every pair fits within
   * the bound itself. The bound is never exceeded for a non-busy member.
   */
  hysteresisMargin?: number;
  /** Default minimum island size for every tier (default 2). */
  minIslandSize?: number;
  /** Optional cap on island size (e.g. what one SLURM controller should carry). */
  maxIslandSize?: number;
  /** Samples older than this (relative to nowMs) are ignored, i.e. the pair is unknown again (default 1 h). */
  staleAfterMs?: number;
  /** "Now" for staleness; default: the newest measuredAt among the samples (keeps the function pure). */
  nowMs?: number;
  /** A sample with loss above this makes the pair unusable: never together, never a path for inference (default 0.05). */
  maxLoss?: number;
  /**
   * Multiplier applied to every bound obtained by the triangle inequality (default 1.1). RTT is only
   * approximately a metric (routing detours cause triangle-inequality violations); a pair whose bound
   * is inferred counts as within the bound only if factor * (path sum) <= bound.
   */
  inferenceSafetyFactor?: number;
  /** Cap on probeRequests (default 1000); violation probes are always included. */
  maxProbeRequests?: number;
  /** Let kept, non-busy members of a looser-tier island join an existing tighter-tier island (default true). */
  allowUpgrades?: boolean;
  /**
   * Only the changes the bounds force (default false): previous islands shed members that break
   * their bound, relax to a looser tier or dissolve, and nothing else happens (no joins, new islands,
   * merges, upgrades or relabelling to a tighter tier). stability.ts compares it with a full run to
   * tell forced changes from optional ones.
   */
  requiredChangesOnly?: boolean;
  /** Previous islands that keep their tier unless their bound forces a looser one (never relabelled tighter). */
  holdTier?: string[];
}

export interface TopologyInput {
  nodes: TopologyNode[];
  samples: RttSample[];
  /** At least one tier; any order (they are sorted by bound, tightest first). */
  tiers: Tier[];
  previous?: PreviousIsland[];
  options?: TopologyOptions;
}

export interface Island {
  id: string;
  tier: string;
  boundMs: number;
  /** Sorted by id. */
  members: string[];
  /** The member the island was grown around; first inference waypoint. */
  anchor: string;
  /** Extra inference waypoints (anchors of islands merged into this one). */
  waypoints: string[];
  /** Upper bound on every pair's RTT (measured where measured, inferred otherwise); 0 for one member. */
  diameterMs: number;
  /** Largest measured RTT between two members (a lower bound on the true diameter); 0 if none measured. */
  measuredDiameterMs: number;
  measuredPairs: number;
  /** Pairs bounded only by inference (candidates for probeRequests). */
  inferredPairs: number;
  /** False only when busy members break the bound (see violations). */
  withinBound: boolean;
  /** True when the island keeps the id of a previous island. */
  kept: boolean;
}

export type UnassignedReason =
  /** No fresh, usable measurement at all: unknown, not close. */
  | 'unmeasured'
  /** Measured, but no peer with the same hard tags could be bounded within any tier's join bound. */
  | 'no-bounded-peers'
  /** Could only form an island smaller than the tier's minimum size. */
  | 'island-too-small'
  /** Fits an island, but that change has not persisted long enough yet (stability.ts). */
  | 'pending';

export interface Unassigned {
  node: string;
  reason: UnassignedReason;
}

export interface Move {
  node: string;
  from: string;
  /** null: the node is unassigned now. */
  to: string | null;
}

export interface ProbeRequest {
  /** a < b. */
  a: string;
  b: string;
  reason: 'violation' | 'unassigned' | 'inferred';
  /** For 'inferred': the inferred upper bound, and the bound it was checked against. */
  inferredUpperBoundMs?: number;
  boundMs?: number;
}

export interface Violation {
  kind: 'busy-over-bound' | 'busy-unbounded' | 'busy-hard-tag-conflict';
  island: string;
  nodes: string[];
  boundMs: number;
  /** Measured or inferred upper bound (Infinity when nothing bounds the pair; rendered as null in JSON). */
  upperBoundMs?: number;
}

export interface TopologyStats {
  nodes: number;
  samples: number;
  freshPairs: number;
  stalePairsIgnored: number;
  lossyPairs: number;
  islands: number;
  assigned: number;
  unassigned: number;
  moved: number;
  measuredPairsInIslands: number;
  inferredPairsInIslands: number;
  /** Inferred-only pairs before the maxProbeRequests cap. */
  probeCandidates: number;
  /**
   * Non-busy members the final validation had to remove (they are unassigned). Always 0 unless an
   * earlier step has a bug; the guarantee holds either way.
   */
  repairedInValidation: number;
}

export interface TopologyResult {
  /** Sorted by id. */
  islands: Island[];
  unassigned: Unassigned[];
  moved: Move[];
  probeRequests: ProbeRequest[];
  violations: Violation[];
  stats: TopologyStats;
}
