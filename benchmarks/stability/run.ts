/**
 * Island stability benchmark: an hour of formation passes over nodes whose measured RTTs jitter
 * every pass, counting tier changes and node moves per hour, with hysteresis in time
 * (stableIslands, what the formation loop runs) against the named baseline "latency hysteresis
 * only" (computeIslands each pass, as before).
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/stability/run.js [--nodes N] [--seconds S]
 *     [--interval-seconds I] [--jitter J,...] [--seed S] [--site-diameter-max MS] [--no-write]
 *
 * Jitter J is multiplicative: each pass every sample is true RTT × (1 + u·J), u uniform in [-1, 1].
 * The default levels are "within the hysteresis band" (J = 0.95 · margin / (2 + margin) = 4.5 %: a
 * pair admitted below the join bound can never be measured past the keep bound) and 15 % (beyond
 * it). Sites are 0.5 to 2.4 ms wide, so some straddle the tight bound (2 ms): where islands
 * flapped. Target: 0 tier changes within the band. JSON on stdout and in benchmarks/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  computeIslands,
  EMPTY_STABILITY_STATE,
  stableIslands,
  TOPOLOGY_DEFAULTS,
  type RttSample,
  type StabilityState,
  type Tier,
  type TopologyInput,
  type TopologyResult,
} from '../../src/core/topology';
import { makeGeography, Rng, type Geography } from '../topology/geography';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

const TIERS: Tier[] = [
  { name: 'tight', boundMs: 2, minIslandSize: 16 },
  { name: 'loose', boundMs: 30 },
];
const MARGIN = TOPOLOGY_DEFAULTS.hysteresisMargin;
const WITHIN_BAND = Number(((0.95 * MARGIN) / (2 + MARGIN)).toFixed(4));

interface Settings {
  nodes: number;
  seconds: number;
  intervalSeconds: number;
  jitters: number[];
  seed: number;
  /** Widest site (ms): above the tight bound, some sites straddle it, which is where flapping happens. */
  siteDiameterMaxMs: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { nodes: 10000, seconds: 3600, intervalSeconds: 15, jitters: [WITHIN_BAND, 0.15], seed: 1, siteDiameterMaxMs: 2.4, write: true };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case '--nodes':
        s.nodes = Number(value());
        break;
      case '--seconds':
        s.seconds = Number(value());
        break;
      case '--interval-seconds':
        s.intervalSeconds = Number(value());
        break;
      case '--jitter':
        s.jitters = value().split(',').map(Number);
        break;
      case '--seed':
        s.seed = Number(value());
        break;
      case '--site-diameter-max':
        s.siteDiameterMaxMs = Number(value());
        break;
      case '--no-write':
        s.write = false;
        break;
      default:
        throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  for (const [name, v] of Object.entries({ nodes: s.nodes, seconds: s.seconds, intervalSeconds: s.intervalSeconds, seed: s.seed })) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  }
  if (s.jitters.some((j) => !(j >= 0 && j < 1))) throw new Error('--jitter values must be in [0, 1)');
  return s;
}

/** The geography's sample pairs, re-measured: true RTT with this pass's jitter. */
function jittered(geo: Geography, jitter: number, rng: Rng, nowMs: number): RttSample[] {
  const index = (id: string) => Number(id.slice(1));
  return geo.samples.map((s) => ({ ...s, rttMs: geo.trueRtt(index(s.a), index(s.b)) * (1 + jitter * (2 * rng.next() - 1)), measuredAt: nowMs }));
}

function inputFrom(geo: Geography, last: TopologyResult | null, samples: RttSample[], nowMs: number): TopologyInput {
  const where = new Map<string, string>();
  for (const isl of last?.islands ?? []) for (const m of isl.members) where.set(m, isl.id);
  return {
    nodes: geo.nodes.map((n) => ({ ...n, currentIsland: where.get(n.id) })),
    samples,
    tiers: TIERS,
    previous: (last?.islands ?? []).map((x) => ({ id: x.id, tier: x.tier, anchor: x.anchor, waypoints: x.waypoints })),
    options: { nowMs },
  };
}

interface Counts {
  tierChanges: number;
  moves: number;
  passes: number;
  maxPassMs: number;
  medianPassMs: number;
  islandsAtEnd: number;
  unassignedAtEnd: number;
  violationsSeen: number;
}

function simulate(geo: Geography, settings: Settings, jitter: number, damped: boolean): Counts {
  const rng = new Rng(settings.seed * 1009 + Math.round(jitter * 1e4));
  let last: TopologyResult | null = null;
  let state: StabilityState = EMPTY_STABILITY_STATE;
  const passes = Math.floor(settings.seconds / settings.intervalSeconds);
  const times: number[] = [];
  let tierChanges = 0;
  let moves = 0;
  let violationsSeen = 0;
  for (let p = 0; p < passes; p++) {
    const now = geo.options.nowMs + p * settings.intervalSeconds * 1000;
    const input = inputFrom(geo, last, jittered(geo, jitter, rng, now), now);
    const start = performance.now();
    let next: TopologyResult;
    if (damped) {
      const step = stableIslands(input, state, now);
      state = step.state;
      next = step.result;
    } else next = computeIslands(input);
    times.push(performance.now() - start);
    const tierBefore = new Map((last?.islands ?? []).map((x) => [x.id, x.tier]));
    tierChanges += next.islands.filter((x) => tierBefore.has(x.id) && tierBefore.get(x.id) !== x.tier).length;
    moves += next.moved.length;
    violationsSeen += next.violations.length;
    last = next;
  }
  times.sort((a, b) => a - b);
  const hours = settings.seconds / 3600;
  return {
    tierChanges: tierChanges / hours,
    moves: moves / hours,
    passes,
    maxPassMs: Math.round(times[times.length - 1]),
    medianPassMs: Math.round(times[Math.floor(times.length / 2)]),
    islandsAtEnd: last?.islands.length ?? 0,
    unassignedAtEnd: last?.unassigned.length ?? 0,
    violationsSeen,
  };
}

function main(): void {
  const settings = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const geo = makeGeography({ nodes: settings.nodes, seed: settings.seed, siteDiameterMaxMs: settings.siteDiameterMaxMs });
  const runs = settings.jitters.map((jitter) => {
    const baseline = simulate(geo, settings, jitter, false);
    const timeHysteresis = simulate(geo, settings, jitter, true);
    process.stderr.write(`jitter ±${(jitter * 100).toFixed(2)} %: baseline ${JSON.stringify(baseline)}\n  time hysteresis ${JSON.stringify(timeHysteresis)}\n`);
    return { jitter, withinBand: jitter <= WITHIN_BAND, baseline, timeHysteresis };
  });
  const report = {
    benchmark: 'stability',
    date: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings: { ...settings, tiers: TIERS, hysteresisMargin: MARGIN, withinBandJitter: WITHIN_BAND, confirmRounds: 3, maxChurnPerHour: 60 },
    baselineName: 'latency hysteresis only (computeIslands every pass)',
    units: { tierChanges: 'per hour', moves: 'per hour' },
    runs,
    target: { withinBandTierChangesPerHour: 0 },
    met: runs.filter((r) => r.withinBand).every((r) => r.timeHysteresis.tierChanges === 0),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (settings.write) {
    const dir = resolve(__dirname, '..', '..', '..', 'benchmarks', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `stability-${report.date.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(report, null, 2)}\n`);
  }
}

main();
