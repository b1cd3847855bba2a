/**
 * Topology benchmark: group synthetic nodes into latency-bounded islands from sparse RTT samples,
 * then check the result against the ground truth.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/topology/run.js [--nodes N] [--seed S] [--runs R]
 *     [--local-peers L] [--region-peers P] [--far-peers F] [--noise X] [--tiv F] [--safety F] [--tight-min K] [--no-write]
 *
 * Reports (JSON on stdout, also written to benchmarks/results/topology-<timestamp>.json):
 *   - grouping time (median of R runs) and memory, for tiers tight <= 2 ms + loose <= 30 ms;
 *   - compliance with the TRUE RTT of every pair in every island (must be 100 %);
 *   - island count against grouping by region label alone, and how many region groups break each bound;
 *   - purity against the ground-truth sites;
 *   - the same for a loose-only run (<= 30 ms), the like-for-like comparison with region groups;
 *   - stability: a second run with the previous assignment and every sample perturbed by up to 1 %.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { computeIslands, type RttSample, type Tier, type TopologyResult } from '../../src/core/topology';
import { DEFAULT_GEO, makeGeography, Rng, type Geography } from './geography';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  nodes: number;
  seed: number;
  runs: number;
  localPeers: number;
  regionPeers: number;
  farPeers: number;
  noise: number;
  tiv: number;
  safety: number | undefined;
  tightMin: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    nodes: 10000,
    seed: 1,
    runs: 3,
    localPeers: DEFAULT_GEO.localPeers,
    regionPeers: DEFAULT_GEO.regionPeers,
    farPeers: DEFAULT_GEO.farPeers,
    noise: DEFAULT_GEO.noise,
    tiv: 0,
    safety: undefined,
    tightMin: 16,
    write: true,
  };
  eachFlag(argv, { integers: false }, (flag, num) => {
    switch (flag) {
      case '--nodes':
        s.nodes = Math.round(num(10, 200000));
        break;
      case '--seed':
        s.seed = Math.round(num(0, 2 ** 31));
        break;
      case '--runs':
        s.runs = Math.round(num(1, 20));
        break;
      case '--local-peers':
        s.localPeers = Math.round(num(0, 1000));
        break;
      case '--region-peers':
        s.regionPeers = Math.round(num(0, 1000));
        break;
      case '--far-peers':
        s.farPeers = Math.round(num(0, 1000));
        break;
      case '--noise':
        s.noise = num(0, 0.5);
        break;
      case '--tiv':
        s.tiv = num(0, 1);
        break;
      case '--safety':
        s.safety = num(1, 10);
        break;
      case '--tight-min':
        s.tightMin = Math.round(num(1, 100000));
        break;
      case '--no-write':
        s.write = false;
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: node dist/benchmarks/topology/run.js [--nodes N] [--seed S] [--runs R] [--local-peers L] ' +
            '[--region-peers P] [--far-peers F] [--noise X] [--tiv F] [--safety F] [--tight-min K] [--no-write]',
        );
        process.exit(0);
      // no fall through: process.exit does not return
      default:
        throw new Error(`unknown argument ${flag} (try --help)`);
    }
  });
  return s;
}

const LOOSE_ONLY: Tier[] = [{ name: 'loose', boundMs: 30 }];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Every pair of every island against the ground truth. */
function verify(geo: Geography, result: TopologyResult) {
  const index = new Map(geo.nodes.map((x, i) => [x.id, i]));
  let pairs = 0;
  let violatingPairs = 0;
  let violatingIslands = 0;
  let worstRatio = 0;
  let weightedPurity = 0;
  let assigned = 0;
  const bySize: number[] = [];
  for (const isl of result.islands) {
    const m = isl.members.map((id) => index.get(id) ?? -1);
    let bad = false;
    let trueDiameter = 0;
    for (let i = 0; i < m.length; i++) {
      for (let j = i + 1; j < m.length; j++) {
        const r = geo.trueRtt(m[i], m[j]);
        pairs++;
        if (r > trueDiameter) trueDiameter = r;
        if (r > isl.boundMs) {
          violatingPairs++;
          bad = true;
        }
      }
    }
    if (bad) violatingIslands++;
    worstRatio = Math.max(worstRatio, trueDiameter / isl.boundMs);
    const counts = new Map<number, number>();
    for (const x of m) counts.set(geo.site[x], (counts.get(geo.site[x]) ?? 0) + 1);
    weightedPurity += Math.max(...counts.values());
    assigned += m.length;
    bySize.push(m.length);
  }
  // Site split: share of each site's nodes in the island holding most of them.
  const nodeIsland = new Map<number, string>();
  for (const isl of result.islands) for (const id of isl.members) nodeIsland.set(index.get(id) ?? -1, isl.id);
  const perSite = new Map<number, Map<string, number>>();
  for (let i = 0; i < geo.nodes.length; i++) {
    const k = nodeIsland.get(i);
    if (k === undefined) continue;
    const map = perSite.get(geo.site[i]) ?? new Map<string, number>();
    map.set(k, (map.get(k) ?? 0) + 1);
    perSite.set(geo.site[i], map);
  }
  let siteMajority = 0;
  for (const map of perSite.values()) siteMajority += Math.max(...map.values());
  bySize.sort((a, b) => a - b);
  const tierCounts: Record<string, number> = {};
  for (const isl of result.islands) tierCounts[isl.tier] = (tierCounts[isl.tier] ?? 0) + 1;
  return {
    islands: result.islands.length,
    islandsByTier: tierCounts,
    assignedNodes: assigned,
    unassignedNodes: result.unassigned.length,
    islandSize: { min: bySize[0] ?? 0, median: bySize.length ? median(bySize) : 0, max: bySize[bySize.length - 1] ?? 0 },
    pairsChecked: pairs,
    violatingPairs,
    violatingIslands,
    islandsWithinBoundPct: result.islands.length ? round((100 * (result.islands.length - violatingIslands)) / result.islands.length, 3) : 100,
    worstTrueDiameterOverBound: round(worstRatio, 4),
    /** Share of assigned nodes that belong to their island's majority site. */
    purityVsSites: assigned ? round(weightedPurity / assigned, 4) : 1,
    /** Share of assigned nodes that sit in the island holding most of their site. */
    siteCohesion: assigned ? round(siteMajority / assigned, 4) : 1,
    probeRequests: result.probeRequests.length,
    probeCandidates: result.stats.probeCandidates,
    measuredPairsInIslands: result.stats.measuredPairsInIslands,
    inferredPairsInIslands: result.stats.inferredPairsInIslands,
    repairedInValidation: result.stats.repairedInValidation,
  };
}

/** The chain's approach: one group per region label; true diameter of each. */
function regionBaseline(geo: Geography) {
  const groups = new Map<string, number[]>();
  geo.nodes.forEach((x, i) => {
    const r = x.tags?.region ?? '';
    const list = groups.get(r) ?? [];
    list.push(i);
    groups.set(r, list);
  });
  const out: Array<{ region: string; nodes: number; trueDiameterMs: number }> = [];
  for (const [region, m] of [...groups.entries()].sort()) {
    let d = 0;
    for (let i = 0; i < m.length; i++) for (let j = i + 1; j < m.length; j++) d = Math.max(d, geo.trueRtt(m[i], m[j]));
    out.push({ region, nodes: m.length, trueDiameterMs: round(d, 2) });
  }
  return {
    groups: out.length,
    violatingTight2ms: out.filter((g) => g.trueDiameterMs > 2).length,
    violatingLoose30ms: out.filter((g) => g.trueDiameterMs > 30).length,
    perRegion: out,
  };
}

function timed<T>(fn: () => T): { value: T; ms: number; heapDeltaMb: number } {
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const value = fn();
  const ms = performance.now() - t0;
  const heapDeltaMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  return { value, ms, heapDeltaMb };
}

function main(): void {
  const s = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  // A tight (MPI) island smaller than tightMin is not worth a SLURM cluster: its nodes go loose.
  const TIERS: Tier[] = [
    { name: 'tight', boundMs: 2, minIslandSize: s.tightMin },
    { name: 'loose', boundMs: 30 },
  ];
  const tGen = performance.now();
  const geo = makeGeography({
    seed: s.seed,
    nodes: s.nodes,
    localPeers: s.localPeers,
    regionPeers: s.regionPeers,
    farPeers: s.farPeers,
    noise: s.noise,
    tivFraction: s.tiv,
  });
  const genMs = performance.now() - tGen;
  const options = s.safety !== undefined ? { inferenceSafetyFactor: s.safety } : {};
  const input = { nodes: geo.nodes, samples: geo.samples, tiers: TIERS, options };

  const times: number[] = [];
  const heap: number[] = [];
  let result: TopologyResult | undefined;
  let peakRss = process.memoryUsage().rss;
  for (let r = 0; r < s.runs; r++) {
    const t = timed(() => computeIslands(input));
    times.push(t.ms);
    heap.push(t.heapDeltaMb);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (result && JSON.stringify(result.islands) !== JSON.stringify(t.value.islands)) throw new Error('non-deterministic result');
    result = t.value;
  }
  if (!result) throw new Error('no run');

  const looseTimes: number[] = [];
  let loose: TopologyResult | undefined;
  for (let r = 0; r < s.runs; r++) {
    const t = timed(() => computeIslands({ ...input, tiers: LOOSE_ONLY }));
    looseTimes.push(t.ms);
    loose = t.value;
  }
  if (!loose) throw new Error('no run');

  // Stability: same nodes, every sample perturbed by up to +-1 %, previous assignment given.
  const rng = new Rng(s.seed + 1000);
  const perturbed: RttSample[] = geo.samples.map((x) => ({ ...x, rttMs: x.rttMs * (1 + 0.01 * rng.range(-1, 1)) }));
  const prevIsland = new Map<string, string>();
  for (const isl of result.islands) for (const m of isl.members) prevIsland.set(m, isl.id);
  const rerun = timed(() =>
    computeIslands({
      nodes: geo.nodes.map((x) => ({ ...x, currentIsland: prevIsland.get(x.id) })),
      samples: perturbed,
      tiers: TIERS,
      previous: result.islands.map((x) => ({ id: x.id, tier: x.tier, anchor: x.anchor, waypoints: x.waypoints })),
      options,
    }),
  );
  // Without the previous assignment, for contrast (how much a memoryless regrouping would churn).
  const cold = computeIslands({ nodes: geo.nodes, samples: perturbed, tiers: TIERS, options });
  const coldIsland = new Map<string, string>();
  for (const isl of cold.islands) for (const m of isl.members) coldIsland.set(m, isl.id);
  let coldChanged = 0;
  for (const [m, id] of prevIsland) if (coldIsland.get(m) !== id) coldChanged++;

  const main = verify(geo, result);
  const report = {
    benchmark: 'topology',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings: { ...s, sites: geo.siteCount, regions: geo.options.regions.length, tiers: TIERS },
    input: {
      nodes: geo.nodes.length,
      samples: geo.samples.length,
      avgMeasuredPeersPerNode: round((2 * geo.samples.length) / geo.nodes.length, 1),
      generationMs: round(genMs, 1),
    },
    grouping: {
      runsMs: times.map((x) => round(x, 1)),
      medianMs: round(median(times), 1),
      underTwoSeconds: median(times) < 2000,
      heapDeltaMb: heap.map((x) => round(x, 1)),
      peakRssMb: round(peakRss / 2 ** 20, 1),
    },
    result: main,
    regionLabelBaseline: regionBaseline(geo),
    looseOnly: { medianMs: round(median(looseTimes), 1), ...verify(geo, loose) },
    stability: {
      perturbation: 'every sample x (1 + u * 0.01), u uniform in [-1, 1]; previous assignment given',
      ms: round(rerun.ms, 1),
      moved: rerun.value.moved.length,
      movedPct: round((100 * rerun.value.moved.length) / geo.nodes.length, 3),
      islandsBefore: result.islands.length,
      islandsAfter: rerun.value.islands.length,
      compliance: verify(geo, rerun.value).islandsWithinBoundPct,
      withoutPreviousChangedNodes: coldChanged,
    },
  };
  console.log(JSON.stringify(report, null, 2));
  if (s.write) {
    const dir = resolve(__dirname, '..', '..', '..', 'benchmarks', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `topology-${report.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.error(`written ${file}`);
  }
  console.error(
    `topology: ${geo.nodes.length} nodes, median ${report.grouping.medianMs} ms; ${main.islands} islands ` +
      `(${JSON.stringify(main.islandsByTier)}), ${main.islandsWithinBoundPct} % within bound by ground truth; ` +
      `region labels: ${report.regionLabelBaseline.groups} groups, ${report.regionLabelBaseline.violatingTight2ms} over 2 ms, ` +
      `${report.regionLabelBaseline.violatingLoose30ms} over 30 ms; loose-only: ${report.looseOnly.islands} islands; ` +
      `stability: ${report.stability.moved} moved`,
  );
}

main();
