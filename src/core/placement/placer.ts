/**
 * The Placer: placement over one mutable capacity view. Each placement reserves what it uses
 * (nodes for a job that starts now, queue depth for one that waits), so the next placement of the
 * batch sees it. The work is split by responsibility:
 *
 *   demand-shapes.ts     per (demand, constraints) shape: hard filters, partitions, eligible classes (cached)
 *   candidate-ranking.ts fits now and score per candidate island (cached per island version), best candidate
 *   score.ts             the score and its O(1) upper bound
 *   reservations.ts      taking nodes and queue depth in the view
 *   array-split.ts       arrays across islands
 *   explanation.ts       the per-candidate explanation and the unplaceable summary
 */
import type { CapacitySnapshot } from './capacity';
import { arrayPart, islandForTasks, shareTasks, tasksShareNodes } from './array-split';
import { bestCandidate, evaluateCandidate } from './candidate-ranking';
import { ShapeCatalog, type DemandShape } from './demand-shapes';
import { explainCandidates, summarizeRejections } from './explanation';
import type { JobDemand } from './job-demand';
import { PlacementIndex } from './placement-index';
import { resolveOptions, type PlacementOptions, type UserConstraints } from './placement-options';
import type { ArrayPart, ArrayPlacement, JobPlacement } from './placement-result';
import { packSingleNodeTasks, queueJobs, reserveNodes } from './reservations';
import { IslandScorer } from './score';

/** Tasks of an array started on one island, before the task list is cut into parts. */
interface StartedTasks {
  candidate: number;
  started: number;
  score: number;
  /** One node name per node of each started task, in task order. */
  nodes: string[];
}

export class Placer {
  readonly index: PlacementIndex;
  private readonly scorer: IslandScorer;
  private readonly shapes: ShapeCatalog;

  constructor(
    view: CapacitySnapshot | PlacementIndex,
    private readonly options: PlacementOptions = {},
  ) {
    this.index = view instanceof PlacementIndex ? view : new PlacementIndex(view);
    const resolved = resolveOptions(options);
    this.scorer = new IslandScorer(this.index, resolved);
    this.shapes = new ShapeCatalog(this.index.islands, this.scorer.staticScores, resolved.tightBoundMs);
  }

  place(demand: JobDemand, constraints: UserConstraints = {}, explain = this.options.explain ?? true): JobPlacement {
    const shape = this.shapes.shapeFor(demand, constraints);
    const best = bestCandidate(shape, this.scorer);
    const candidates = explain ? explainCandidates(shape, this.scorer) : [];
    if (best < 0) {
      return {
        status: 'unplaceable',
        island: null,
        partition: null,
        score: null,
        expectedStartMinutes: null,
        nodes: [],
        candidates,
        reason: summarizeRejections(shape),
      };
    }
    const island = shape.candidates[best];
    const score = shape.scores[best];
    const expectedStartMinutes = this.scorer.expectedStartMinutes(shape, best);
    if (shape.fitsNow[best]) {
      const nodes = this.reserveJobNodes(shape, best);
      return { status: 'start-now', island: island.name, partition: shape.partitions[best], score, expectedStartMinutes, nodes, candidates };
    }
    queueJobs(island, demand, 1);
    return { status: 'queued', island: island.name, partition: shape.partitions[best], score, expectedStartMinutes, nodes: [], candidates };
  }

  /**
   * An array job. Islands are taken in turn (see `islandForTasks`) until the wanted concurrency
   * (every task, or the `%N` throttle) has started or nothing more starts now; the task list is
   * then cut into contiguous parts in proportion to what each island started. Tasks beyond that
   * queue on their part's island. If nothing starts now anywhere, the whole array is one queued
   * part where it is expected to start first.
   */
  placeArray(demand: JobDemand, constraints: UserConstraints = {}, explain = this.options.explain ?? true): ArrayPlacement {
    const taskIds = demand.array?.taskIds ?? [0];
    const maxRunning = demand.array?.maxRunning ?? null;
    const shape = this.shapes.shapeFor(demand, constraints);
    const first = bestCandidate(shape, this.scorer);
    const candidates = explain ? explainCandidates(shape, this.scorer) : [];
    if (first < 0) return { status: 'unplaceable', parts: [], candidates, reason: summarizeRejections(shape) };

    let tasksWanted = Math.min(taskIds.length, maxRunning ?? taskIds.length);
    const startedPerIsland: StartedTasks[] = [];
    const usedCandidates = new Set<number>();
    while (tasksWanted > 0) {
      const candidate = islandForTasks(shape, this.scorer, usedCandidates, tasksWanted);
      if (candidate < 0) break;
      const score = shape.scores[candidate];
      const nodes: string[] = [];
      const started = this.startTasks(shape, candidate, tasksWanted, nodes);
      if (started === 0) break;
      usedCandidates.add(candidate);
      startedPerIsland.push({ candidate, started, score, nodes });
      tasksWanted -= started;
    }

    if (startedPerIsland.length === 0) {
      const best = bestCandidate(shape, this.scorer);
      queueJobs(shape.candidates[best], demand, taskIds.length);
      const part = arrayPart({
        island: shape.candidates[best].name,
        partition: shape.partitions[best],
        taskIds,
        maxRunning,
        startNow: 0,
        score: shape.scores[best],
        nodes: [],
      });
      return { status: 'queued', parts: [part], candidates };
    }
    const tasksPerPart = shareTasks(
      taskIds.length,
      startedPerIsland.map((run) => run.started),
    );
    const parts: ArrayPart[] = [];
    let offset = 0;
    startedPerIsland.forEach((run, part) => {
      const partTaskIds = taskIds.slice(offset, offset + tasksPerPart[part]);
      offset += tasksPerPart[part];
      const island = shape.candidates[run.candidate];
      if (partTaskIds.length > run.started) queueJobs(island, demand, partTaskIds.length - run.started);
      parts.push(
        arrayPart({
          island: island.name,
          partition: shape.partitions[run.candidate],
          taskIds: partTaskIds,
          // A throttled array keeps its throttle split: each part runs at most what it started now.
          maxRunning: maxRunning === null ? null : run.started,
          startNow: run.started,
          score: run.score,
          nodes: run.nodes,
        }),
      );
    });
    return { status: 'start-now', parts, candidates };
  }

  /** Distinct (demand, constraints) shapes seen so far. */
  shapeCount(): number {
    return this.shapes.size;
  }

  /** Reserves the nodes of one job on a candidate it fits on now (its fitting alternative's classes). */
  private reserveJobNodes(shape: DemandShape, candidate: number): string[] {
    const classes = shape.eligibleClasses[candidate][shape.fittingAlternative[candidate]];
    return reserveNodes(shape.candidates[candidate], classes, shape.perNode, shape.nodesPerJob);
  }

  /** Starts up to `tasksWanted` array tasks on the candidate now; appends their nodes; returns how many started. */
  private startTasks(shape: DemandShape, candidate: number, tasksWanted: number, nodes: string[]): number {
    if (tasksShareNodes(shape)) {
      const alternative = shape.fittingAlternative[candidate];
      if (alternative < 0) return 0;
      return packSingleNodeTasks(shape.candidates[candidate], shape.eligibleClasses[candidate][alternative], shape.perNode, tasksWanted, nodes);
    }
    let started = 0;
    for (; started < tasksWanted; started++) {
      evaluateCandidate(shape, candidate, this.scorer);
      if (!shape.fitsNow[candidate]) break;
      for (const node of this.reserveJobNodes(shape, candidate)) nodes.push(node);
    }
    return started;
  }
}
