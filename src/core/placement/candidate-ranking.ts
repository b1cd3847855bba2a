/**
 * Evaluating a shape's candidate islands against free capacity now, and finding the best one
 * without evaluating them all: a candidate whose island has not changed since its last evaluation
 * keeps its cached result, and a stale one is re-evaluated only when an O(1) upper bound of its
 * score could beat the best so far. The pruning is exact: it never changes a decision (the
 * `pruning` unit test compares against a search without it).
 */
import type { DemandShape } from './demand-shapes';
import { countNodesFittingNow } from './node-fit';
import type { IslandScorer } from './score';

/**
 * Slack for comparing a bound with a score: the bound sums the same terms in another order, so it
 * may come out a few ulps below a score it equals; it must still not prune that candidate.
 */
const SCORE_SLACK = 1e-9;

/**
 * Brings the candidate's dynamic state (fits now, nodes free now, fitting alternative, score) up
 * to date with its island's version. A job fits when one constraint alternative offers enough
 * different nodes that each hold the per-node demand now.
 */
export function evaluateCandidate(shape: DemandShape, candidate: number, scorer: IslandScorer): void {
  const island = shape.candidates[candidate];
  if (shape.evaluatedAtVersion[candidate] === island.version) return;
  const nodesWanted = shape.nodesPerJob;
  let mostNodesFree = 0;
  let fittingAlternative = -1;
  const alternatives = shape.eligibleClasses[candidate];
  for (let alternative = 0; alternative < alternatives.length && fittingAlternative < 0; alternative++) {
    let nodesFree = 0;
    for (const { nodeClass, gpuModel } of alternatives[alternative]) {
      nodesFree += countNodesFittingNow(nodeClass, gpuModel, shape.perNode, nodesWanted - nodesFree);
      if (nodesFree >= nodesWanted) break;
    }
    if (nodesFree >= nodesWanted) fittingAlternative = alternative;
    if (nodesFree > mostNodesFree) mostNodesFree = nodesFree;
  }
  shape.fitsNow[candidate] = fittingAlternative >= 0 ? 1 : 0;
  shape.fittingAlternative[candidate] = fittingAlternative;
  shape.nodesFreeNow[candidate] = Math.min(mostNodesFree, nodesWanted);
  shape.scores[candidate] = scorer.score(shape, candidate);
  shape.evaluatedAtVersion[candidate] = island.version;
}

/**
 * Index of the best candidate (highest score, then island name), or -1 when the shape has none.
 * Candidates are visited by static score, so once a static score plus the most the dynamic parts
 * can add falls below the best, no later candidate can win. Candidate indexes follow island names,
 * so a tie goes to the lower index.
 */
export function bestCandidate(shape: DemandShape, scorer: IslandScorer): number {
  const { candidates, evaluatedAtVersion, scores, candidatesByStaticScore } = shape;
  if (candidates.length === 0) return -1;
  // Start from the previous winner: usually still good, it lets the bounds prune most islands.
  let best = shape.lastBest;
  evaluateCandidate(shape, best, scorer);
  let bestScore = scores[best];
  const cpusPerJob = shape.perNode.cpus * shape.nodesPerJob;
  const staticScores = scorer.staticScores;
  const maxDynamicScore = scorer.maxDynamicScore;
  for (let rank = 0; rank < candidatesByStaticScore.length; rank++) {
    const candidate = candidatesByStaticScore[rank];
    const island = candidates[candidate];
    if (staticScores[island.index] + maxDynamicScore < bestScore - SCORE_SLACK) break;
    if (evaluatedAtVersion[candidate] !== island.version) {
      if (scorer.upperBound(island, cpusPerJob) < bestScore - SCORE_SLACK) continue;
      evaluateCandidate(shape, candidate, scorer);
    }
    const score = scores[candidate];
    if (score > bestScore || (score === bestScore && candidate < best)) {
      bestScore = score;
      best = candidate;
    }
  }
  shape.lastBest = best;
  return best;
}
