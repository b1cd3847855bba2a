/**
 * Arrays across islands: which island takes the next share of an array's tasks, and how the task
 * list is cut into contiguous parts in proportion to what each island starts now. Each part is one
 * SLURM array (`--array=<expression>`); together they stay one Archipelago job.
 */
import { bestCandidate, evaluateCandidate } from './candidate-ranking';
import type { DemandShape } from './demand-shapes';
import { nodeFitsNow, tasksFittingOnNode } from './node-fit';
import type { ArrayPart } from './placement-result';
import type { IslandScorer } from './score';

/**
 * Whether several tasks may share one node: single-node tasks that take part of a node. Otherwise
 * every task takes `nodesPerJob` whole nodes of its own.
 */
export function tasksShareNodes(shape: DemandShape): boolean {
  return shape.nodesPerJob === 1 && !shape.perNode.exclusive && !shape.perNode.wholeNodeMemory;
}

/** How many more tasks of the shape start now on the candidate (counted up to `limit`), in its fitting alternative. */
export function tasksFittingNow(shape: DemandShape, candidate: number, limit: number): number {
  const alternative = shape.fittingAlternative[candidate];
  if (alternative < 0) return 0;
  const { perNode, nodesPerJob } = shape;
  const shared = tasksShareNodes(shape);
  let sharedTasks = 0;
  let wholeNodesFree = 0;
  for (const { nodeClass, gpuModel } of shape.eligibleClasses[candidate][alternative]) {
    for (let node = nodeClass.cursor; node < nodeClass.size; node++) {
      if (!nodeFitsNow(nodeClass, node, gpuModel, perNode)) continue;
      if (shared) sharedTasks += tasksFittingOnNode(nodeClass, node, gpuModel, perNode);
      else wholeNodesFree++;
      if (sharedTasks + Math.floor(wholeNodesFree / nodesPerJob) >= limit) return limit;
    }
  }
  return sharedTasks + Math.floor(wholeNodesFree / nodesPerJob);
}

/**
 * The candidate that takes the next `tasksWanted` tasks of an array: the best-scored unused island
 * that starts them all now; else the one that starts the most now (ties: score, then name); -1
 * when no unused island starts any. Upper bounds (usable nodes, or free CPUs, per task) skip
 * islands without a node scan.
 */
export function islandForTasks(shape: DemandShape, scorer: IslandScorer, usedCandidates: ReadonlySet<number>, tasksWanted: number): number {
  // Fast path: the best island overall, when it is unused and starts them all now.
  if (usedCandidates.size === 0) {
    const top = bestCandidate(shape, scorer);
    if (top >= 0 && shape.fitsNow[top] && tasksFittingNow(shape, top, tasksWanted) >= tasksWanted) return top;
  }
  const fitting: number[] = [];
  const { perNode, nodesPerJob, scores } = shape;
  for (let candidate = 0; candidate < shape.candidates.length; candidate++) {
    if (usedCandidates.has(candidate)) continue;
    evaluateCandidate(shape, candidate, scorer);
    if (shape.fitsNow[candidate]) fitting.push(candidate);
  }
  if (fitting.length === 0) return -1;
  const shared = tasksShareNodes(shape);
  const taskBound: number[] = new Array(shape.candidates.length).fill(0);
  for (const candidate of fitting) {
    const island = shape.candidates[candidate];
    taskBound[candidate] = shared ? Math.floor(island.freeCpus / perNode.cpus) : Math.floor(island.usableNodes / nodesPerJob);
  }
  fitting.sort((a, b) => scores[b] - scores[a] || a - b);
  for (const candidate of fitting) {
    if (taskBound[candidate] >= tasksWanted && tasksFittingNow(shape, candidate, tasksWanted) >= tasksWanted) return candidate;
  }
  // Nobody starts them all: the most tasks, then score, then name. In bound order, stop once the
  // bound cannot reach the best count found.
  const byBound = fitting.slice().sort((a, b) => taskBound[b] - taskBound[a] || scores[b] - scores[a] || a - b);
  let pick = -1;
  let pickTasks = 0;
  for (const candidate of byBound) {
    if (taskBound[candidate] < pickTasks) break;
    const tasks = tasksFittingNow(shape, candidate, tasksWanted);
    const winsTie = pick >= 0 && (scores[candidate] > scores[pick] || (scores[candidate] === scores[pick] && candidate < pick));
    if (tasks > pickTasks || (tasks === pickTasks && winsTie)) {
      pick = candidate;
      pickTasks = tasks;
    }
  }
  return pickTasks > 0 ? pick : -1;
}

/**
 * Task counts per part, in proportion to the tasks each part's island starts now, summing to
 * `taskCount`: floors first, then one more each by largest remainder (ties: the earlier part).
 */
export function shareTasks(taskCount: number, startedPerPart: readonly number[]): number[] {
  const startedTotal = startedPerPart.reduce((sum, started) => sum + started, 0);
  const counts = startedPerPart.map((started) => Math.floor((taskCount * started) / startedTotal));
  let left = taskCount - counts.reduce((sum, count) => sum + count, 0);
  const byRemainder = startedPerPart
    .map((started, part) => ({ part, remainder: (taskCount * started) % startedTotal }))
    .sort((a, b) => b.remainder - a.remainder || a.part - b.part);
  for (let next = 0; left > 0; next = (next + 1) % byRemainder.length, left--) counts[byRemainder[next].part]++;
  return counts;
}

/** An ArrayPart with its `--array` expression (with the part's `%N` when the job is throttled). */
export function arrayPart(part: Omit<ArrayPart, 'expression'>): ArrayPart {
  return {
    island: part.island,
    partition: part.partition,
    taskIds: part.taskIds,
    expression: renderTaskIds(part.taskIds) + (part.maxRunning !== null ? `%${part.maxRunning}` : ''),
    maxRunning: part.maxRunning,
    startNow: part.startNow,
    score: part.score,
    nodes: part.nodes,
  };
}

/** `[0,1,2,3,7,9,10]` → `0-3,7,9-10`. */
export function renderTaskIds(ids: number[]): string {
  const ranges: string[] = [];
  for (let first = 0; first < ids.length;) {
    let last = first;
    while (last + 1 < ids.length && ids[last + 1] === ids[last] + 1) last++;
    ranges.push(last === first ? String(ids[first]) : `${ids[first]}-${ids[last]}`);
    first = last + 1;
  }
  return ranges.join(',');
}
