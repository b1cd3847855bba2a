import type { FormationNode, FormationSample } from './formation-node';

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
  /**
   * Whether islands' membership is changing now: a node placed in another island than the one its
   * SLURM holds it in (joining, leaving, moving), or an island whose SLURM is being launched or
   * retired. Capacity seen meanwhile is not the capacity to come (the dispatcher waits).
   */
  changing(): Promise<boolean>;
}

export const ISLAND_MEMBERSHIP = Symbol('ISLAND_MEMBERSHIP');
