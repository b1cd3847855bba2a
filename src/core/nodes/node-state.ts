/**
 * Node lifecycle, mirroring the chain's NodeState. Pure: every decision takes the clock as an
 * argument, so the sweeper and the heartbeat path are unit-testable.
 *
 *   join ──> PENDING ──first heartbeat──> ACTIVE <──drain/resume──> DRAINING
 *   silence ≥ stale ──> STALE ──≥ offline──> OFFLINE ──≥ deregister──> DEREGISTERED (final)
 *   a heartbeat brings PENDING/STALE/OFFLINE back to ACTIVE (DRAINING if an admin drained it)
 */
export const NODE_STATES = ['PENDING', 'ACTIVE', 'DRAINING', 'STALE', 'OFFLINE', 'DEREGISTERED'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface LivenessThresholds {
  staleSeconds: number;
  offlineSeconds: number;
  deregisterSeconds: number;
}

/** How far down the silence ladder a state is; the sweeper only ever moves a node further down. */
const SILENCE_RANK: Record<NodeState, number> = {
  PENDING: 0,
  ACTIVE: 0,
  DRAINING: 0,
  STALE: 1,
  OFFLINE: 2,
  DEREGISTERED: 3,
};

/** Where `seconds` of silence puts a node, ignoring its current state. */
export function stateForSilence(seconds: number, t: LivenessThresholds): NodeState | null {
  if (seconds >= t.deregisterSeconds) return 'DEREGISTERED';
  if (seconds >= t.offlineSeconds) return 'OFFLINE';
  if (seconds >= t.staleSeconds) return 'STALE';
  return null;
}

/**
 * The sweeper's decision for one node: the state it must move to, or null to leave it. Silence is
 * counted from the last heartbeat, or from the join for a node that never sent one. Applies to
 * every live state alike (a silent PENDING or DRAINING node is just as unreachable); a drained
 * node keeps its drain reason, so it returns as DRAINING.
 */
export function livenessTransition(state: NodeState, lastSeenMs: number, nowMs: number, t: LivenessThresholds): NodeState | null {
  if (state === 'DEREGISTERED') return null;
  const target = stateForSilence(Math.max(0, nowMs - lastSeenMs) / 1000, t);
  if (!target || SILENCE_RANK[target] <= SILENCE_RANK[state]) return null;
  return target;
}

/** The state after an accepted heartbeat; null for a deregistered node (it must join again). */
export function stateAfterHeartbeat(state: NodeState, drained: boolean): NodeState | null {
  switch (state) {
    case 'DEREGISTERED':
      return null;
    case 'ACTIVE':
    case 'DRAINING':
      return state;
    default:
      return drained ? 'DRAINING' : 'ACTIVE';
  }
}

/** An admin's drain: live nodes stop taking work now; a silent one returns as DRAINING. */
export function stateAfterDrain(state: NodeState): NodeState | null {
  if (state === 'DEREGISTERED') return null;
  return state === 'ACTIVE' || state === 'PENDING' ? 'DRAINING' : state;
}

/** An admin's resume: a draining node takes work again; silent nodes keep their state until they speak. */
export function stateAfterResume(state: NodeState): NodeState | null {
  if (state === 'DEREGISTERED') return null;
  return state === 'DRAINING' ? 'ACTIVE' : state;
}
