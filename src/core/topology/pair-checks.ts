/** Pair checks over an island's members, on the shared PairBounds workspace. */
import type { PairBounds, PairKind } from './bounds';
import type { IslandState } from './grouping-state';

/** Calls fn for every member pair (a < b by index) with its upper bound (early-exit search at `enough`). */
export function scanPairs(pb: PairBounds, isl: IslandState, enough: number, fn: (a: number, b: number, ub: number, kind: PairKind) => void): void {
  const members = [...isl.members].sort((a, b) => a - b);
  pb.setWaypoints(isl.dists);
  for (let i = 0; i < members.length; i++) {
    pb.loadRow(members[i]);
    for (let j = i + 1; j < members.length; j++) {
      const ub = pb.bound(members[j], enough);
      fn(members[i], members[j], ub, pb.lastKind);
    }
  }
}

export function allPairsWithin(pb: PairBounds, isl: IslandState, limit: number): boolean {
  const members = isl.members;
  pb.setWaypoints(isl.dists);
  for (let i = 0; i < members.length; i++) {
    pb.loadRow(members[i]);
    for (let j = i + 1; j < members.length; j++) if (pb.bound(members[j], limit) > limit) return false;
  }
  return true;
}

/** Would m fit island isl with every pair <= limit? (waypoints must already be loaded) */
export function fitsLoaded(pb: PairBounds, m: number, isl: IslandState, limit: number): boolean {
  pb.loadRow(m);
  const members = isl.members;
  for (let i = 0; i < members.length; i++) if (pb.bound(members[i], limit) > limit) return false;
  return true;
}

export function crossFits(pb: PairBounds, A: IslandState, B: IslandState, limit: number): boolean {
  pb.setWaypoints([...A.dists, ...B.dists]);
  for (const a of A.members) {
    pb.loadRow(a);
    for (const b of B.members) if (pb.bound(b, limit) > limit) return false;
  }
  return true;
}
