import type { FormationNode, FormationSample } from './formation-node';
import type { LocalityTags, NodeInventory } from '../nodes/agent-protocol';

/** The nodes as island formation reads and moves them (the nodes feature owns them). */
export interface IslandMembership {
  /** Every node that is, or may still be, in some island's SLURM. */
  nodes(): Promise<FormationNode[]>;
  /** Latency samples among these nodes younger than `maxAgeSeconds`. */
  samples(nodeIds: string[], maxAgeSeconds: number): Promise<FormationSample[]>;
  /** Where the grouping wants each node (names absent from `desired` want no island). */
  setDesired(desired: Map<string, string>): Promise<void>;
  /** Which peers each node should probe next. */
  setRequestedProbes(requests: Map<string, string[]>): Promise<void>;
  /** What the node is in SLURM now: its island's cluster, and whether drained there. */
  recordSlurm(name: string, slurmIsland: string | null, drained: boolean): Promise<void>;
  /** Member node names per island. */
  membersByIsland(): Promise<Map<string, string[]>>;
  /** Regions, provider groups and performance of each island's members. */
  memberProfiles(): Promise<Map<string, MemberProfile>>;
  /** The ACTIVE members of every island, each with its RTT medians to the other members that answered. */
  activeMembers(): Promise<ActiveMember[]>;
  /**
   * Whether islands' membership is changing now: a node placed in another island than the one its
   * SLURM holds it in (joining, leaving, moving). Capacity seen meanwhile is not the capacity to
   * come (the dispatcher waits; it also asks the island directory about islands launching or retiring).
   */
  changing(): Promise<boolean>;
}

/** A node serving in an island, as the chain's node records describe it. */
export interface ActiveMember {
  island: string;
  id: string;
  name: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  latencies: Array<{ to: string; rttMs: number; measuredAt: Date }>;
}

/** What an island's members say of it. */
export interface MemberProfile {
  regions: string[];
  providers: string[];
  /** Every member is high-performance (null: no members). */
  allHigh: boolean | null;
}

export const ISLAND_MEMBERSHIP = Symbol('ISLAND_MEMBERSHIP');
