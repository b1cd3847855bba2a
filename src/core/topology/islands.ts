/**
 * Island grouping: partition nodes into latency-bounded islands from sparse RTT samples.
 *
 * Pure and deterministic: no I/O, no clock, no randomness; nodes are processed by sorted id and every
 * tie is broken by id, so the same input gives the same output. README.md in this folder explains
 * the rules; the order of work is:
 *
 *   1. Build the measured graph (fresh samples only; lossy pairs = never together): grouping-state.ts.
 *   2. Keep previous islands (keep-previous.ts): members stay while every pair is within the tier
 *      bound (the keep bound). Non-busy members that break it leave (fewest possible, greedy vertex
 *      cover of the failing pairs); busy members never move and pairs they break are reported as
 *      violations. A kept island that fell below its minimum size and has no busy member is
 *      dissolved. A kept island that now fits a tighter tier's join bound is relabelled (nobody moves).
 *   3. For each tier, tightest first, the nodes without an island (new, released, dissolved); a and e
 *      in join-existing.ts, b to d in form-new.ts:
 *      a. join an existing island of the tier if every pair fits the join bound
 *         (bound / (1 + hysteresisMargin)), most-connected island first;
 *      b. the rest form new islands: greedy center-based clustering. The densest remaining node is the
 *         anchor; candidates are taken nearest-first (shortest-path distance from the anchor) and
 *         admitted only if every pair with the current members fits the join bound;
 *      c. new islands merge into another island of the tier (smallest first) when every cross pair
 *         fits the join bound;
 *      d. new islands smaller than the tier minimum are dissolved; their nodes try (a) again, then
 *         fall through to the next tier;
 *      e. kept non-busy members of looser-tier islands may upgrade into an island of this tier if they
 *         fit its join bound and their island stays at or above its minimum size.
 *   4. Whatever is left is unassigned, with a reason (result.ts).
 *   5. Final validation of every island over all pairs at the keep bound (island-validation.ts, the
 *      probe requests in probe-plan.ts): this pass is the source of the reported diameters, the
 *      probe requests and the violations, and it repairs (removes) any non-busy member that would
 *      break the bound, so the guarantee does not depend on the steps above.
 */
import { dissolveSmallNew, formNew, mergeNew } from './form-new';
import { createGroupingState } from './grouping-state';
import { joinExisting, unplaced, upgradeMembers } from './join-existing';
import { keepPrevious } from './keep-previous';
import { assembleResult } from './result';
import type { TopologyInput, TopologyResult } from './types';

export { DEFAULTS } from './grouping-state';

export function computeIslands(input: TopologyInput): TopologyResult {
  const state = createGroupingState(input);
  keepPrevious(state);
  // Only what the bounds force: nobody joins, no island forms, merges or moves up a tier.
  if (state.requiredChangesOnly) return assembleResult(state);
  let pool = unplaced(state);
  for (let t = 0; t < state.tiers.length; t++) {
    pool = joinExisting(state, pool, t);
    formNew(state, pool, t);
    mergeNew(state, t);
    dissolveSmallNew(state, t);
    pool = joinExisting(state, unplaced(state), t);
    if (state.allowUpgrades) upgradeMembers(state, t);
  }
  return assembleResult(state);
}
