import type { NodeState } from '../nodes/node-state';

/**
 * What the island-formation loop must do to SLURM, given where the topology wants each node and where
 * SLURM has it now. Pure: the service applies the steps and records each one as it succeeds, so a crash
 * half-way leaves a state from which the next pass plans the rest.
 */
export interface NodePosition {
  name: string;
  state: NodeState;
  /** The island the grouping wants the node in (null: none). */
  desired: string | null;
  /** The island whose SLURM has the node now (null: none). */
  slurmIsland: string | null;
  slurmDrained: boolean;
}

export type NodeStep =
  | { kind: 'join'; node: string; island: string; drained: boolean }
  | { kind: 'leave'; node: string; island: string; force: boolean; reason: string }
  | { kind: 'drain' | 'resume'; node: string; island: string; reason: string };

/** States in which a node belongs in SLURM at all; silent-for-long and removed nodes do not. */
const IN_SLURM: ReadonlySet<NodeState> = new Set(['ACTIVE', 'DRAINING', 'STALE']);
/** States in which SLURM must not start anything new on the node. */
const NO_NEW_WORK: ReadonlySet<NodeState> = new Set(['DRAINING', 'STALE']);

export function nodeSteps(nodes: NodePosition[], launched: ReadonlySet<string>): NodeStep[] {
  const steps: NodeStep[] = [];
  for (const node of nodes) {
    const target = IN_SLURM.has(node.state) ? node.desired : null;
    const drained = NO_NEW_WORK.has(node.state);
    const reason = node.state === 'STALE' ? 'agent silent' : node.state === 'DRAINING' ? 'drained by an admin' : 'regrouped';
    if (node.slurmIsland && node.slurmIsland !== target) {
      // A node that stopped answering long ago has nothing left to finish; otherwise its jobs end first.
      const force = node.state === 'OFFLINE' || node.state === 'DEREGISTERED';
      const why = target === null ? (IN_SLURM.has(node.state) ? 'no longer in an island' : `node ${node.state.toLowerCase()}`) : `moving to ${target}`;
      steps.push({ kind: 'leave', node: node.name, island: node.slurmIsland, force, reason: why });
      continue;
    }
    if (!node.slurmIsland && target && launched.has(target) && node.state !== 'STALE') {
      steps.push({ kind: 'join', node: node.name, island: target, drained });
      continue;
    }
    if (node.slurmIsland && node.slurmIsland === target && drained !== node.slurmDrained) {
      steps.push({ kind: drained ? 'drain' : 'resume', node: node.name, island: node.slurmIsland, reason });
    }
  }
  return steps;
}

/** Islands nobody is in or heading to: their SLURM can be stopped. */
export function islandsToRetire(islands: string[], nodes: NodePosition[]): string[] {
  const used = new Set<string>();
  for (const node of nodes) {
    if (node.desired) used.add(node.desired);
    if (node.slurmIsland) used.add(node.slurmIsland);
  }
  return islands.filter((island) => !used.has(island));
}
