/**
 * What a caller can ask of placement: the user's constraints on islands (per job) and the
 * placement options (per Placer: score weights, the tight tier bound, the start-time model).
 */

export interface UserConstraints {
  /** The island must serve at least one of these regions / providers / performance classes. */
  regions?: string[];
  providers?: string[];
  performanceClasses?: string[];
  /** Only these islands (e.g. the one holding the jobs this job depends on). */
  islands?: string[];
  excludeIslands?: string[];
  maxPricePerCoreHour?: number;
  /**
   * The loosest island tier bound (ms RTT between any two nodes) the job accepts. Default: the
   * tight bound (`PlacementOptions.tightBoundMs`, 2 ms) for a multi-node job, no limit for a
   * single-node one. A multi-node job that tolerates latency (no MPI) sets 30 to also accept loose
   * islands; any job may set a tighter value.
   */
  maxIslandLatencyMs?: number;
}

export interface ScoreWeights {
  /** Expected start (sooner is better). */
  start: number;
  /** Price per core-hour (cheaper is better). */
  price: number;
  /** Benchmark score (faster is better). */
  performance: number;
  /** Free CPUs left on the island after the job (spreads load). */
  headroom: number;
}

export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = { start: 0.55, price: 0.2, performance: 0.15, headroom: 0.1 };

export interface PlacementOptions {
  weights?: Partial<ScoreWeights>;
  /** Bound a multi-node job needs by default (the tight tier). Default 2. */
  tightBoundMs?: number;
  /**
   * Start score = 1 - log2(1 + t / startUnitMinutes) / log2(1 + startHorizonMinutes / startUnitMinutes),
   * clamped to [0, 1]: every doubling of the expected wait costs the same. Defaults 10 and 10080 (7 days).
   */
  startUnitMinutes?: number;
  startHorizonMinutes?: number;
  /** Wait assumed for resources a job does not find free now (scaled by the missing share of its nodes). Default 60. */
  resourceWaitMinutes?: number;
  /** Share of the queue drain time a job that fits now still waits (backfill). Default 0.1. */
  backfillFactor?: number;
  /**
   * Rank every island where the job starts now above every island where it would wait (default
   * true): the score gets +1 when it fits now. Off, a much cheaper or faster island may win over one
   * that is free now, by the weighted sum alone.
   */
  preferStartNow?: boolean;
  /** Build the per-candidate explanation (placeJob / placeArray: true; placeMany: false). */
  explain?: boolean;
}

/** PlacementOptions with every default filled in, plus the constants the score derives from them. */
export interface ResolvedOptions {
  weights: ScoreWeights;
  tightBoundMs: number;
  startUnitMinutes: number;
  /** log2(1 + horizon / unit): the denominator of the start score, computed once. */
  startLogHorizon: number;
  resourceWaitMinutes: number;
  backfillFactor: number;
  /** Added to the score of an island where the job fits now: 1, or 0 without `preferStartNow`. */
  startNowBonus: number;
}

/** Fills in the defaults; refuses a negative or non-finite weight (it would invert the ranking). */
export function resolveOptions(options: PlacementOptions): ResolvedOptions {
  for (const [name, value] of Object.entries(options.weights ?? {})) {
    if (!(Number.isFinite(value) && value >= 0)) throw new Error(`score weight ${name} must be a finite number >= 0, got ${value}`);
  }
  return {
    weights: { ...DEFAULT_WEIGHTS, ...options.weights },
    tightBoundMs: options.tightBoundMs ?? 2,
    startUnitMinutes: options.startUnitMinutes ?? 10,
    startLogHorizon: Math.log2(1 + (options.startHorizonMinutes ?? 10080) / (options.startUnitMinutes ?? 10)),
    resourceWaitMinutes: options.resourceWaitMinutes ?? 60,
    backfillFactor: options.backfillFactor ?? 0.1,
    startNowBonus: options.preferStartNow === false ? 0 : 1,
  };
}

/** The bound multi-node jobs need (MPI): the tightest configured latency tier. */
export function tightestBoundMs(tiers: ReadonlyArray<{ boundMs: number }>): number {
  return Math.min(...tiers.map((t) => t.boundMs));
}
