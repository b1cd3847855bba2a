/**
 * The island launcher: turns topology decisions into running SLURM clusters. The dev stack's adapter starts
 * local daemons (slurm/local scripts); the Kubernetes adapter writes Island / NodeSet custom resources that the
 * operators reconcile. Every call is idempotent: the topology loop re-issues its whole desired state after a
 * crash, so "already there" must be success, never an error.
 */
export interface IslandClusterSpec {
  /** DNS-safe island name; also the SLURM ClusterName. */
  name: string;
  /** Latency tier the island was formed under (e.g. tight, loose) and its pairwise RTT bound. */
  tier: string;
  boundMs: number;
  partitions: string[];
  /** Restarting an island that ran before: keep its SLURM state (jobs, job ids). A new island starts empty. */
  keepState: boolean;
}

export interface IslandMemberSpec {
  /** SLURM NodeName: the node's registered name. */
  node: string;
  cpus: number;
  memoryMb: number;
  /** SLURM GRES strings, e.g. `gpu:a100:2`. */
  gres: string[];
  /** SLURM features: provider, locality and performance-class tags, usable with --constraint. */
  features: string[];
}

/** How the control plane reaches a launched island's SLURM; secrets are returned for encrypted storage only. */
export interface LaunchedIsland {
  name: string;
  restUrl: string;
  jwtKey: Buffer;
  partitions: string[];
}

export interface IslandLauncher {
  readonly kind: 'local' | 'kubernetes';
  /** Creates the island's controller daemons (slurmctld, slurmrestd) if absent; returns how to reach them. */
  ensureIsland(spec: IslandClusterSpec): Promise<LaunchedIsland>;
  /** Adds a node to the island's SLURM as a dynamic node and resolves once SLURM sees it. */
  joinNode(island: string, member: IslandMemberSpec): Promise<void>;
  /**
   * Drains the node, waits for its jobs (up to `timeoutMs`; `force` cancels them after that), then removes it
   * from the island's SLURM. Resolves `false` when jobs still run and `force` was not given.
   */
  removeNode(island: string, node: string, options: { reason: string; timeoutMs: number; force: boolean }): Promise<boolean>;
  /** Drains a node in SLURM (running jobs finish, nothing new starts) or returns it to service. */
  setDrained(island: string, node: string, drained: boolean, reason: string): Promise<void>;
  /** Stops an island that has no members left. */
  retireIsland(name: string): Promise<void>;
}

export const ISLAND_LAUNCHER = Symbol('ISLAND_LAUNCHER');
