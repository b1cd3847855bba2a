/**
 * The decision record's explanation: every candidate island with its score breakdown (best first),
 * then every rejected island with the reason of the first hard filter it failed (by name); the
 * summary of those reasons for an unplaceable job; and a text rendering for people.
 */
import { evaluateCandidate } from './candidate-ranking';
import type { DemandShape } from './demand-shapes';
import { rejectionReason } from './hard-filters';
import type { ArrayPlacement, CandidateExplanation, JobPlacement, ScoreBreakdown } from './placement-result';
import type { IslandScorer } from './score';

/** Scored candidates best first (ties: name), then rejected islands by name. */
export function explainCandidates(shape: DemandShape, scorer: IslandScorer): CandidateExplanation[] {
  const scored: CandidateExplanation[] = shape.candidates.map((island, candidate) => {
    evaluateCandidate(shape, candidate, scorer);
    const { total, ...breakdown } = scorer.breakdown(shape, candidate);
    return { island: island.name, score: rounded(total), partition: shape.partitions[candidate], breakdown: roundedBreakdown(breakdown) };
  });
  const bestFirst = scored.map((_, candidate) => candidate).sort((a, b) => shape.scores[b] - shape.scores[a] || a - b);
  return [
    ...bestFirst.map((candidate) => scored[candidate]),
    ...shape.rejected.map((island, rejected) => ({ island: island.name, score: null, rejected: rejectionReasons(shape)[rejected] })),
  ];
}

/**
 * Why no island can run the job, summarized: the three most common reasons with their island
 * counts (`every island: ...` when one reason covers them all).
 */
export function summarizeRejections(shape: DemandShape): string {
  if (shape.rejected.length === 0) return 'no islands in the capacity snapshot';
  const islandsPerReason = new Map<string, number>();
  for (const reason of rejectionReasons(shape)) islandsPerReason.set(reason, (islandsPerReason.get(reason) ?? 0) + 1);
  const mostCommon = [...islandsPerReason.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = mostCommon
    .slice(0, 3)
    .map(([reason, islands]) => (islands === shape.rejected.length ? `every island: ${reason}` : `${islands} island(s): ${reason}`));
  if (mostCommon.length > 3) shown.push(`${mostCommon.length - 3} other reason(s)`);
  return shown.join('; ');
}

/** A readable multi-line rendering of a placement's explanation. */
export function formatExplanation(placement: JobPlacement | ArrayPlacement): string {
  const lines: string[] = [];
  if ('parts' in placement) {
    if (placement.status === 'unplaceable') lines.push(`unplaceable: ${placement.reason}`);
    for (const part of placement.parts) {
      lines.push(`tasks ${part.expression} -> ${part.island}/${part.partition} (score ${rounded(part.score)}, ${part.startNow} start now)`);
    }
  } else if (placement.status === 'unplaceable') {
    lines.push(`unplaceable: ${placement.reason}`);
  } else {
    lines.push(
      `${placement.status} on ${placement.island}/${placement.partition}, score ${rounded(placement.score ?? 0)}, ` +
        `expected start ~${rounded(placement.expectedStartMinutes ?? 0)} min` +
        (placement.nodes.length ? ` on ${placement.nodes.join(',')}` : ''),
    );
  }
  for (const candidate of placement.candidates) {
    if (candidate.rejected !== undefined) {
      lines.push(`  ${candidate.island}: rejected: ${candidate.rejected}`);
    } else if (candidate.breakdown) {
      const breakdown = candidate.breakdown;
      lines.push(
        `  ${candidate.island}: score ${candidate.score} (${breakdown.fitsNow ? 'fits now' : `${breakdown.nodesFitNow} node(s) free now`}, ` +
          `start ~${breakdown.expectedStartMinutes} min -> ${breakdown.start}, price ${breakdown.price}, performance ${breakdown.performance}, ` +
          `headroom ${breakdown.headroom}) partition ${candidate.partition}`,
      );
    }
  }
  return lines.join('\n');
}

/** The rejected islands' reasons, built on first use: a batch places most jobs without needing them. */
function rejectionReasons(shape: DemandShape): string[] {
  shape.rejectionReasons ??= shape.rejected.map(
    (island) => rejectionReason(island, shape.filters, shape.demand, shape.perNode) ?? 'internal: accepted on a second look',
  );
  return shape.rejectionReasons;
}

const rounded = (value: number) => Math.round(value * 1000) / 1000;

function roundedBreakdown(breakdown: ScoreBreakdown): ScoreBreakdown {
  return {
    ...breakdown,
    expectedStartMinutes: rounded(breakdown.expectedStartMinutes),
    start: rounded(breakdown.start),
    price: rounded(breakdown.price),
    performance: rounded(breakdown.performance),
    headroom: rounded(breakdown.headroom),
  };
}
