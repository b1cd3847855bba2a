/**
 * The score of a candidate island (higher is better; README.md has the formula):
 *
 *   (fits now ? startNowBonus : 0) + w.start × start + w.price × price + w.performance × performance + w.headroom × headroom
 *
 * each component in [0, 1]. Price and performance never change during a batch (the static part);
 * the rest depends on free capacity and queue depth. `upperBound` is an O(1) bound of any job's
 * score on an island, which lets the search skip islands without scanning their nodes.
 */
import type { DemandShape } from './demand-shapes';
import type { IslandState, PlacementIndex } from './placement-index';
import type { ResolvedOptions } from './placement-options';
import type { ScoreBreakdown } from './placement-result';

export class IslandScorer {
  /** Per island (by its index): the weighted price and performance parts, fixed for the batch. */
  readonly staticScores: readonly number[];
  /** The most the dynamic parts (start-now bonus, start, headroom) can add to a static score. */
  readonly maxDynamicScore: number;
  /** Per island, `upperBound` without the start-now bonus, valid while the island's version is unchanged. */
  private readonly boundVersion: Int32Array;
  private readonly boundWithoutBonus: Float64Array;

  constructor(
    private readonly index: PlacementIndex,
    private readonly options: ResolvedOptions,
  ) {
    const weights = options.weights;
    this.staticScores = index.islands.map((island) => weights.price * this.priceScore(island) + weights.performance * this.performanceScore(island));
    this.maxDynamicScore = options.startNowBonus + Math.max(0, weights.start) + Math.max(0, weights.headroom);
    this.boundVersion = new Int32Array(index.islands.length).fill(-1);
    this.boundWithoutBonus = new Float64Array(index.islands.length);
  }

  /**
   * The weighted score of the shape's candidate (the hot path), from its evaluated state (fits now,
   * nodes free now); `breakdown` is the same sum, itemized.
   */
  score(shape: DemandShape, candidate: number): number {
    const island = shape.candidates[candidate];
    const fitsNow = shape.fitsNow[candidate] === 1;
    const weights = this.options.weights;
    return (
      (fitsNow ? this.options.startNowBonus : 0) +
      weights.start * this.startScore(this.expectedStartMinutes(shape, candidate)) +
      weights.price * this.priceScore(island) +
      weights.performance * this.performanceScore(island) +
      weights.headroom * this.headroomScore(island, this.cpusTakenNow(shape, candidate))
    );
  }

  /** The components of `score`, unweighted, and the total (for explanations). */
  breakdown(shape: DemandShape, candidate: number): ScoreBreakdown & { total: number } {
    const island = shape.candidates[candidate];
    const expectedStartMinutes = this.expectedStartMinutes(shape, candidate);
    return {
      fitsNow: shape.fitsNow[candidate] === 1,
      nodesFitNow: shape.nodesFreeNow[candidate],
      nodesEver: shape.nodesEver[candidate],
      expectedStartMinutes,
      start: this.startScore(expectedStartMinutes),
      price: this.priceScore(island),
      performance: this.performanceScore(island),
      headroom: this.headroomScore(island, this.cpusTakenNow(shape, candidate)),
      total: this.score(shape, candidate),
    };
  }

  /**
   * At least the score of any job on the island: the start-now bonus only if the island has
   * `cpusPerJob` free CPUs in total, the start score of a job that fits now (the best case), and
   * the headroom before the job's CPUs. The island-level part is cached per island version.
   */
  upperBound(island: IslandState, cpusPerJob: number): number {
    const slot = island.index;
    if (this.boundVersion[slot] !== island.version) {
      const weights = this.options.weights;
      this.boundWithoutBonus[slot] =
        weights.start * this.startScore(this.queueDrainMinutes(island) * this.options.backfillFactor) +
        weights.price * this.priceScore(island) +
        weights.performance * this.performanceScore(island) +
        weights.headroom * this.headroomScore(island, 0);
      this.boundVersion[slot] = island.version;
    }
    return this.boundWithoutBonus[slot] + (island.freeCpus >= cpusPerJob ? this.options.startNowBonus : 0);
  }

  /**
   * A job that fits now still waits a share of the queue drain (backfill); one that does not waits
   * the drain plus a fixed wait scaled by the share of its nodes that are not free now.
   */
  expectedStartMinutes(shape: DemandShape, candidate: number): number {
    const drain = this.queueDrainMinutes(shape.candidates[candidate]);
    return shape.fitsNow[candidate] === 1
      ? drain * this.options.backfillFactor
      : drain + this.options.resourceWaitMinutes * (1 - shape.nodesFreeNow[candidate] / shape.nodesPerJob);
  }

  /** 1 at once, 0 at the horizon, logarithmic between: every doubling of the wait costs the same. */
  private startScore(minutes: number): number {
    const score = 1 - Math.log2(1 + minutes / this.options.startUnitMinutes) / this.options.startLogHorizon;
    return score < 0 ? 0 : score > 1 ? 1 : score;
  }

  /** The minutes the island's pending work takes on all its usable CPUs. */
  private queueDrainMinutes(island: IslandState): number {
    return island.pendingCpuSeconds / 60 / Math.max(1, island.usableCpus);
  }

  /** The cheapest price in the snapshot over this island's (1 = cheapest; a free island is 1). */
  private priceScore(island: IslandState): number {
    const price = island.capacity.pricePerCoreHour;
    return price <= 0 ? 1 : this.index.minPrice / price;
  }

  private performanceScore(island: IslandState): number {
    return this.index.maxBenchmark > 0 ? island.capacity.benchmarkScore / this.index.maxBenchmark : 0;
  }

  /** A job that waits takes no CPUs now. */
  private cpusTakenNow(shape: DemandShape, candidate: number): number {
    return shape.fitsNow[candidate] === 1 ? shape.perNode.cpus * shape.nodesPerJob : 0;
  }

  /** Free CPUs left on the island after the job, over its usable CPUs: spreads load. */
  private headroomScore(island: IslandState, cpusTakenByJob: number): number {
    return island.usableCpus > 0 ? Math.max(0, island.freeCpus - cpusTakenByJob) / island.usableCpus : 0;
  }
}
