/**
 * Demand shapes: the unit of caching that makes a batch of thousands of jobs cheap. Jobs with the
 * same demand key and the same user constraints are treated identically, so everything static
 * about them (which islands pass the hard filters, the partition on each, the node classes each
 * constraint alternative may use) is computed once per shape. What depends on free capacity
 * (fits now, score) lives in per-candidate arrays of the shape, each entry valid while its island's
 * version is unchanged (see candidate-ranking.ts).
 */
import type { EligibleClass } from './eligible-classes';
import { hardFiltersFor, passesTimeIndependentFilters, type HardFilters } from './hard-filters';
import type { JobDemand } from './job-demand';
import { perNodeDemandOf, type PerNodeDemand } from './node-fit';
import { firstFittingPartition } from './partition-choice';
import type { IslandState } from './placement-index';
import type { UserConstraints } from './placement-options';

export interface DemandShape {
  demand: JobDemand;
  nodesPerJob: number;
  perNode: PerNodeDemand;
  filters: HardFilters;
  /** Islands that pass every hard filter, in name order; every per-candidate array below is indexed like it. */
  candidates: IslandState[];
  /** The partition the job goes to on each candidate. */
  partitions: string[];
  /** Per candidate, per constraint alternative, the node classes that could ever hold the job. */
  eligibleClasses: EligibleClass[][][];
  nodesEver: number[];
  /** Candidate indexes by static score (price, performance) descending, then name: the search order. */
  candidatesByStaticScore: number[];
  /** Islands that fail a hard filter; their reasons are built lazily (explanations, unplaceable summaries). */
  rejected: IslandState[];
  rejectionReasons: string[] | null;
  // Dynamic state per candidate. Plain packed arrays, not typed arrays: thousands of small shapes,
  // and typed-array backing stores are costly to allocate and collect at that count.
  /** The island version the entries below were computed at (-1: never). */
  evaluatedAtVersion: number[];
  scores: number[];
  /** 1 when the job fits on the candidate now, else 0. */
  fitsNow: number[];
  /** Nodes that hold the per-node demand now, counted up to the job's node count. */
  nodesFreeNow: number[];
  /** The constraint alternative that fits now, or -1. */
  fittingAlternative: number[];
  /** The candidate chosen last time: the next search starts from it, and it usually still wins. */
  lastBest: number;
}

/**
 * The hard-filter results shared by shapes that differ only in time limit or partition (which
 * decide the partition alone): most of the static work, once per (per-node demand, constraints).
 */
interface TimeIndependentCandidates {
  candidates: IslandState[];
  eligibleClasses: EligibleClass[][][];
  nodesEver: number[];
  rejected: IslandState[];
  /** Computed on first use, shared with every shape whose candidates are exactly these. */
  candidatesByStaticScore?: number[];
}

export class ShapeCatalog {
  private readonly shapes = new Map<string, DemandShape>();
  /** Callers usually pass the same constraints object for many jobs: its key is computed once. */
  private readonly constraintKeys = new WeakMap<UserConstraints, string>();
  private readonly timeIndependent = new Map<string, TimeIndependentCandidates>();
  private readonly eligibleCacheSlots = new Map<string, number>();

  constructor(
    private readonly islands: readonly IslandState[],
    /** Per island index, the static part of its score (orders the candidates). */
    private readonly staticScores: readonly number[],
    private readonly tightBoundMs: number,
  ) {}

  /** Distinct (demand, constraints) shapes seen so far. */
  get size(): number {
    return this.shapes.size;
  }

  shapeFor(demand: JobDemand, constraints: UserConstraints): DemandShape {
    let constraintKey = this.constraintKeys.get(constraints);
    if (constraintKey === undefined) {
      constraintKey = keyOfConstraints(constraints);
      this.constraintKeys.set(constraints, constraintKey);
    }
    const key = `${demand.key}#${constraintKey}`;
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = this.build(demand, constraints, constraintKey);
      this.shapes.set(key, shape);
    }
    return shape;
  }

  private build(demand: JobDemand, constraints: UserConstraints, constraintKey: string): DemandShape {
    const perNode = perNodeDemandOf(demand);
    const shape: DemandShape = {
      demand,
      nodesPerJob: demand.nodes,
      perNode,
      filters: hardFiltersFor(demand, constraints, this.tightBoundMs, this.eligibleCacheSlot(demand, perNode)),
      candidates: [],
      partitions: [],
      eligibleClasses: [],
      nodesEver: [],
      candidatesByStaticScore: [],
      rejected: [],
      rejectionReasons: null,
      evaluatedAtVersion: [],
      scores: [],
      fitsNow: [],
      nodesFreeNow: [],
      fittingAlternative: [],
      lastBest: 0,
    };
    const shared = this.timeIndependentCandidates(demand, perNode, shape.filters, constraintKey);
    const withoutPartition: IslandState[] = [];
    const partitions: string[] = new Array(shared.candidates.length);
    let kept = 0;
    for (let candidate = 0; candidate < shared.candidates.length; candidate++) {
      const partition = firstFittingPartition(shared.candidates[candidate], demand);
      if (partition !== null) partitions[kept++] = partition;
      else withoutPartition.push(shared.candidates[candidate]);
    }
    if (withoutPartition.length === 0) {
      // The common case: every shared candidate has a fitting partition; share its arrays too.
      shape.candidates = shared.candidates;
      shape.eligibleClasses = shared.eligibleClasses;
      shape.nodesEver = shared.nodesEver;
      shape.partitions = partitions;
      shape.rejected = shared.rejected;
      shared.candidatesByStaticScore ??= this.orderByStaticScore(shared.candidates);
      shape.candidatesByStaticScore = shared.candidatesByStaticScore;
    } else {
      shared.candidates.forEach((island, candidate) => {
        if (withoutPartition.includes(island)) return;
        shape.candidates.push(island);
        shape.eligibleClasses.push(shared.eligibleClasses[candidate]);
        shape.nodesEver.push(shared.nodesEver[candidate]);
      });
      shape.partitions = partitions.slice(0, kept);
      shape.rejected = [...shared.rejected, ...withoutPartition].sort((a, b) => a.index - b.index);
      shape.candidatesByStaticScore = this.orderByStaticScore(shape.candidates);
    }
    const count = shape.candidates.length;
    shape.evaluatedAtVersion = new Array<number>(count).fill(-1);
    shape.scores = new Array<number>(count).fill(0.5); // doubles from the start: the array stays a double array
    shape.fitsNow = new Array<number>(count).fill(0);
    shape.nodesFreeNow = new Array<number>(count).fill(0);
    shape.fittingAlternative = new Array<number>(count).fill(-1);
    return shape;
  }

  private timeIndependentCandidates(demand: JobDemand, perNode: PerNodeDemand, filters: HardFilters, constraintKey: string): TimeIndependentCandidates {
    const key =
      `${demand.nodes}|${demand.cpusPerNode}|${demand.wholeNodeMemory ? 'all' : demand.memPerNodeMb}|${demand.exclusive ? 'x' : ''}|` +
      `${demand.gpusPerNode}|${demand.gpuModel ?? ''}|${demand.constraint?.text ?? ''}|${demand.requiresTightTier ? 't' : ''}#${constraintKey}`;
    let shared = this.timeIndependent.get(key);
    if (!shared) {
      shared = { candidates: [], eligibleClasses: [], nodesEver: [], rejected: [] };
      for (const island of this.islands) {
        const eligibility = passesTimeIndependentFilters(island, filters, demand, perNode);
        if (eligibility === null) {
          shared.rejected.push(island);
        } else {
          shared.candidates.push(island);
          shared.eligibleClasses.push(eligibility.byAlternative);
          shared.nodesEver.push(eligibility.nodesEver);
        }
      }
      this.timeIndependent.set(key, shared);
    }
    return shared;
  }

  private orderByStaticScore(candidates: IslandState[]): number[] {
    const staticScores = this.staticScores;
    return candidates.map((_, candidate) => candidate).sort((a, b) => staticScores[candidates[b].index] - staticScores[candidates[a].index] || a - b);
  }

  /**
   * Eligible classes depend only on the per-node demand, GPU model, features and node count:
   * shapes that differ in time, partition or user constraints share one cache slot on each island.
   */
  private eligibleCacheSlot(demand: JobDemand, perNode: PerNodeDemand): number {
    const key =
      `${perNode.cpus}|${perNode.wholeNodeMemory ? 'all' : perNode.memoryMb}|${perNode.gpus}|` +
      `${demand.gpuModel ?? ''}|${demand.constraint?.text ?? ''}|${demand.nodes}`;
    let slot = this.eligibleCacheSlots.get(key);
    if (slot === undefined) {
      slot = this.eligibleCacheSlots.size;
      this.eligibleCacheSlots.set(key, slot);
    }
    return slot;
  }
}

/** A canonical key of the user constraints (lists sorted: the same constraints in any order share shapes). */
function keyOfConstraints(constraints: UserConstraints): string {
  const sorted = (values: string[] | undefined) => (values ? [...values].sort().join(',') : '');
  return [
    sorted(constraints.regions),
    sorted(constraints.providers),
    sorted(constraints.performanceClasses),
    sorted(constraints.islands),
    sorted(constraints.excludeIslands),
    constraints.maxPricePerCoreHour ?? '',
    constraints.maxIslandLatencyMs ?? '',
  ].join('|');
}
