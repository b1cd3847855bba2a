/**
 * Synthetic geography with known ground truth, for the topology benchmark and the property tests.
 *
 * Layout: regions on a flat map (km), each with a centre and a radius; sites (metros) placed
 * uniformly in their region's disc, at least `minSiteSeparationKm` apart; nodes spread over sites
 * with uneven sizes.
 *
 * True RTT (ms):
 *   same site:       h(a) + h(b) + j(a,b)
 *   different sites: h(a) + h(b) + crossMs + km(siteA, siteB) * msPerKm * route(siteA, siteB) + j(a,b)
 * h(x) is a node's access latency, uniform in [0.05, diameter(site)/2], the site diameter uniform in
 * [siteDiameterMinMs, siteDiameterMaxMs]; j(a,b) in [0, 0.05] is a per-pair hash jitter; route is 1
 * except for a `tivFraction` of site pairs whose direct route is a detour (x1.6), the only thing here
 * that breaks the triangle inequality. Without detours the truth is a metric (2 * min h >= max j).
 *
 * Samples: each node measures `localPeers` random nodes of its site, `regionPeers` of other sites in
 * its region and `farPeers` anywhere (deduplicated per pair); the reported median is the truth times
 * (1 + u * noise), u uniform in [-1, 1].
 */
import type { RttSample, TopologyNode } from '../../src/core/topology';

/** Small seeded PRNG (32-bit state, multiply-xorshift output); deterministic across platforms. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ 0x5bd1e995;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let x = this.s;
    x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
    x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
    x ^= x >>> 15;
    return (x >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
}

/** Deterministic hash of a pair to [0, 1). */
export function pairHash(a: number, b: number, seed: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  let x = Math.imul(lo + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + seed, 0xc2b2ae35);
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

export interface RegionSpec {
  name: string;
  x: number;
  y: number;
  radiusKm: number;
}

/** Eight regions; two (sa, oceania) are wide enough that their label spans more than 30 ms. */
export const DEFAULT_REGIONS: RegionSpec[] = [
  { name: 'na-east', x: 0, y: 0, radiusKm: 500 },
  { name: 'na-west', x: 3800, y: 300, radiusKm: 600 },
  { name: 'sa', x: 2000, y: -6000, radiusKm: 1600 },
  { name: 'eu-west', x: 6000, y: 1500, radiusKm: 400 },
  { name: 'eu-central', x: 6900, y: 1700, radiusKm: 500 },
  { name: 'asia-east', x: 12000, y: 1000, radiusKm: 800 },
  { name: 'asia-se', x: 11500, y: -1500, radiusKm: 700 },
  { name: 'oceania', x: 13500, y: -5000, radiusKm: 1800 },
];

export interface GeoOptions {
  seed: number;
  nodes: number;
  regions: RegionSpec[];
  sitesPerRegion: number;
  minSiteSeparationKm: number;
  siteDiameterMinMs: number;
  siteDiameterMaxMs: number;
  crossMs: number;
  msPerKm: number;
  localPeers: number;
  regionPeers: number;
  farPeers: number;
  noise: number;
  tivFraction: number;
  nowMs: number;
}

export const DEFAULT_GEO: GeoOptions = {
  seed: 1,
  nodes: 10000,
  regions: DEFAULT_REGIONS,
  sitesPerRegion: 5,
  minSiteSeparationKm: 150,
  siteDiameterMinMs: 0.5,
  siteDiameterMaxMs: 1.5,
  crossMs: 0.3,
  msPerKm: 0.01,
  localPeers: 24,
  regionPeers: 4,
  farPeers: 4,
  noise: 0.02,
  tivFraction: 0,
  nowMs: 1_700_000_000_000,
};

export interface Geography {
  options: GeoOptions;
  nodes: TopologyNode[];
  samples: RttSample[];
  /** Per node index (same order as nodes, ids sorted). */
  site: Int32Array;
  region: Int32Array;
  access: Float64Array;
  siteX: Float64Array;
  siteY: Float64Array;
  siteRegion: Int32Array;
  siteCount: number;
  trueRtt(a: number, b: number): number;
}

export function makeGeography(partial: Partial<GeoOptions> = {}): Geography {
  const o: GeoOptions = { ...DEFAULT_GEO, ...partial };
  const rng = new Rng(o.seed);
  const siteX: number[] = [];
  const siteY: number[] = [];
  const siteRegion: number[] = [];
  const siteDiameter: number[] = [];
  o.regions.forEach((r, ri) => {
    const mine: number[] = [];
    for (let s = 0; s < o.sitesPerRegion; s++) {
      let x = r.x;
      let y = r.y;
      for (let attempt = 0; attempt < 200; attempt++) {
        const rad = r.radiusKm * Math.sqrt(rng.next());
        const ang = rng.range(0, 2 * Math.PI);
        x = r.x + rad * Math.cos(ang);
        y = r.y + rad * Math.sin(ang);
        if (mine.every((k) => Math.hypot(siteX[k] - x, siteY[k] - y) >= o.minSiteSeparationKm)) break;
      }
      mine.push(siteX.length);
      siteX.push(x);
      siteY.push(y);
      siteRegion.push(ri);
      siteDiameter.push(rng.range(o.siteDiameterMinMs, o.siteDiameterMaxMs));
    }
  });
  const siteCount = siteX.length;
  const weights = Array.from({ length: siteCount }, () => rng.range(0.5, 1.5));
  const total = weights.reduce((x, y) => x + y, 0);

  const width = String(o.nodes).length;
  const site = new Int32Array(o.nodes);
  const access = new Float64Array(o.nodes);
  // Deterministic site sizes proportional to weights; nodes get sorted ids in site order shuffled.
  let cursor = 0;
  let acc = 0;
  for (let s = 0; s < siteCount; s++) {
    acc += weights[s];
    const end = s === siteCount - 1 ? o.nodes : Math.round((acc / total) * o.nodes);
    for (; cursor < end; cursor++) site[cursor] = s;
  }
  for (let i = o.nodes - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = site[i];
    site[i] = site[j];
    site[j] = t;
  }
  const region = new Int32Array(o.nodes);
  for (let i = 0; i < o.nodes; i++) {
    region[i] = siteRegion[site[i]];
    access[i] = rng.range(0.05, siteDiameter[site[i]] / 2);
  }
  const providers = ['p-alpha', 'p-beta', 'p-gamma'];
  const nodes: TopologyNode[] = [];
  for (let i = 0; i < o.nodes; i++) {
    nodes.push({
      id: `n${String(i).padStart(width, '0')}`,
      tags: { region: o.regions[region[i]].name, providerGroup: providers[rng.int(providers.length)] },
      busy: false,
    });
  }

  const siteKm = (p: number, q: number) => Math.hypot(siteX[p] - siteX[q], siteY[p] - siteY[q]);
  const tivSeed = o.seed * 7919 + 17;
  const trueRtt = (a: number, b: number): number => {
    if (a === b) return 0;
    const sa = site[a];
    const sb = site[b];
    let v = access[a] + access[b] + 0.05 * pairHash(a, b, o.seed);
    if (sa !== sb) {
      const route = o.tivFraction > 0 && pairHash(sa, sb, tivSeed) < o.tivFraction ? 1.6 : 1;
      v += o.crossMs + siteKm(sa, sb) * o.msPerKm * route;
    }
    return v;
  };

  const bySite: number[][] = Array.from({ length: siteCount }, () => []);
  const byRegion: number[][] = o.regions.map(() => []);
  for (let i = 0; i < o.nodes; i++) {
    bySite[site[i]].push(i);
    byRegion[region[i]].push(i);
  }
  const seen = new Set<number>();
  const samples: RttSample[] = [];
  const add = (a: number, b: number) => {
    if (a === b) return;
    const key = a < b ? a * o.nodes + b : b * o.nodes + a;
    if (seen.has(key)) return;
    seen.add(key);
    samples.push({
      a: nodes[a].id,
      b: nodes[b].id,
      rttMs: trueRtt(a, b) * (1 + o.noise * rng.range(-1, 1)),
      loss: 0,
      measuredAt: o.nowMs - rng.int(600_000),
    });
  };
  for (let i = 0; i < o.nodes; i++) {
    const local = bySite[site[i]];
    for (let k = 0; k < o.localPeers && local.length > 1; k++) add(i, local[rng.int(local.length)]);
    const reg = byRegion[region[i]];
    let tries = 0;
    for (let k = 0; k < o.regionPeers && tries < 10 * o.regionPeers; tries++) {
      const j = reg[rng.int(reg.length)];
      if (site[j] === site[i]) continue;
      add(i, j);
      k++;
    }
    for (let k = 0; k < o.farPeers; k++) add(i, rng.int(o.nodes));
  }

  return {
    options: o,
    nodes,
    samples,
    site,
    region,
    access,
    siteX: Float64Array.from(siteX),
    siteY: Float64Array.from(siteY),
    siteRegion: Int32Array.from(siteRegion),
    siteCount,
    trueRtt,
  };
}
