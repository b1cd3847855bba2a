/**
 * The measured-latency graph: one undirected edge per node pair with a fresh sample, stored as CSR
 * arrays indexed by node position (nodes sorted by id). A pair whose latest fresh sample is too lossy
 * keeps its edge with weight Infinity: it still counts as measured (and therefore as "never
 * together"), but no inference path uses it.
 */
import type { RttSample } from './types';

export interface LatencyGraph {
  n: number;
  /** Node ids, sorted. */
  ids: string[];
  index: Map<string, number>;
  /** CSR: neighbours of i are nbr[offsets[i] .. offsets[i+1]), ascending. */
  offsets: Int32Array;
  nbr: Int32Array;
  /** Measured median RTT; Infinity for lossy pairs. */
  rtt: Float64Array;
  freshPairs: number;
  stalePairsIgnored: number;
  lossyPairs: number;
}

export interface GraphOptions {
  nowMs: number;
  staleAfterMs: number;
  maxLoss: number;
}

/**
 * Several samples for one pair (either direction): the newest fresh one wins; on equal time the
 * larger RTT (the conservative one). Order of the input does not matter.
 */
export function buildGraph(ids: string[], samples: RttSample[], opts: GraphOptions): LatencyGraph {
  const n = ids.length;
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const oldest = opts.nowMs - opts.staleAfterMs;

  // Usable samples as parallel arrays (lo < hi), then bucketed by lo and sorted by hi inside each
  // bucket, so duplicates of a pair are adjacent and the CSR lists come out ascending.
  const cap = samples.length;
  const sLo = new Int32Array(cap);
  const sHi = new Int32Array(cap);
  const sAt = new Float64Array(cap);
  const sVal = new Float64Array(cap);
  const sStale = new Uint8Array(cap);
  let k = 0;
  for (const x of samples) {
    const ia = index.get(x.a);
    const ib = index.get(x.b);
    if (ia === undefined || ib === undefined || ia === ib) continue;
    if (!Number.isFinite(x.rttMs) || x.rttMs < 0 || !Number.isFinite(x.measuredAt)) continue;
    sLo[k] = ia < ib ? ia : ib;
    sHi[k] = ia < ib ? ib : ia;
    sAt[k] = x.measuredAt;
    sVal[k] = (x.loss ?? 0) > opts.maxLoss ? Infinity : x.rttMs;
    sStale[k] = x.measuredAt < oldest ? 1 : 0;
    k++;
  }
  const start = new Int32Array(n + 1);
  for (let t = 0; t < k; t++) start[sLo[t] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const perm = new Int32Array(k);
  const put = start.slice(0, n);
  for (let t = 0; t < k; t++) perm[put[sLo[t]]++] = t;
  for (let i = 0; i < n; i++) {
    const from = start[i];
    const to = start[i + 1];
    if (to - from > 1) perm.subarray(from, to).sort((x, y) => sHi[x] - sHi[y] || x - y);
  }

  // One entry per pair: the newest fresh sample (ties: the larger RTT); stale-only pairs are counted.
  const pLo: number[] = [];
  const pHi: number[] = [];
  const pVal: number[] = [];
  let stalePairsIgnored = 0;
  let lossyPairs = 0;
  for (let t = 0; t < k;) {
    const lo = sLo[perm[t]];
    const hi = sHi[perm[t]];
    let bestAt = -Infinity;
    let bestVal = NaN;
    let end = t;
    for (; end < k && sLo[perm[end]] === lo && sHi[perm[end]] === hi; end++) {
      const q = perm[end];
      if (sStale[q]) continue;
      if (sAt[q] > bestAt || (sAt[q] === bestAt && sVal[q] > bestVal)) {
        bestAt = sAt[q];
        bestVal = sVal[q];
      }
    }
    t = end;
    if (bestAt === -Infinity) {
      stalePairsIgnored++;
      continue;
    }
    if (bestVal === Infinity) lossyPairs++;
    pLo.push(lo);
    pHi.push(hi);
    pVal.push(bestVal);
  }

  const m = pLo.length;
  const offsets = new Int32Array(n + 1);
  for (let q = 0; q < m; q++) {
    offsets[pLo[q] + 1]++;
    offsets[pHi[q] + 1]++;
  }
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, n);
  const nbr = new Int32Array(2 * m);
  const rtt = new Float64Array(2 * m);
  // Pairs are in (lo, hi) order. First every node's smaller neighbours (pairs where it is hi, in
  // ascending lo), then its larger ones (pairs where it is lo, ascending hi): each list is ascending.
  for (let q = 0; q < m; q++) {
    const hi = pHi[q];
    nbr[fill[hi]] = pLo[q];
    rtt[fill[hi]++] = pVal[q];
  }
  for (let q = 0; q < m; q++) {
    const lo = pLo[q];
    nbr[fill[lo]] = pHi[q];
    rtt[fill[lo]++] = pVal[q];
  }
  return { n, ids, index, offsets, nbr, rtt, freshPairs: m, stalePairsIgnored, lossyPairs };
}

/** Measured RTT of a pair, undefined if unmeasured (binary search in the ascending list). */
export function measured(g: LatencyGraph, a: number, b: number): number | undefined {
  let lo = g.offsets[a];
  let hi = g.offsets[a + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = g.nbr[mid];
    if (v === b) return g.rtt[mid];
    if (v < b) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Shortest-path distances from one source, over finite edges, up to `radius` (inclusive). */
export interface SparseDist {
  source: number;
  radius: number;
  nodes: Int32Array;
  dist: Float64Array;
}

/** Reusable Dijkstra workspace (binary heap with lazy deletion on typed arrays). */
export class ShortestPaths {
  private readonly dist: Float64Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;
  private heapKey: Float64Array;
  private heapNode: Int32Array;
  private heapSize = 0;

  constructor(private readonly g: LatencyGraph) {
    this.dist = new Float64Array(g.n).fill(Infinity);
    this.touched = new Int32Array(g.n);
    this.heapKey = new Float64Array(1024);
    this.heapNode = new Int32Array(1024);
  }

  from(source: number, radius: number): SparseDist {
    const { offsets, nbr, rtt } = this.g;
    const dist = this.dist;
    this.touchedCount = 0;
    this.heapSize = 0;
    dist[source] = 0;
    this.touched[this.touchedCount++] = source;
    this.push(0, source);
    const outNodes: number[] = [];
    const outDist: number[] = [];
    while (this.heapSize > 0) {
      const d = this.heapKey[0];
      const u = this.heapNode[0];
      this.pop();
      if (d > dist[u]) continue;
      outNodes.push(u);
      outDist.push(d);
      for (let e = offsets[u], end = offsets[u + 1]; e < end; e++) {
        const nd = d + rtt[e];
        if (nd > radius) continue; // also skips Infinity (lossy) edges
        const v = nbr[e];
        if (nd < dist[v]) {
          if (dist[v] === Infinity) this.touched[this.touchedCount++] = v;
          dist[v] = nd;
          this.push(nd, v);
        }
      }
    }
    for (let k = 0; k < this.touchedCount; k++) dist[this.touched[k]] = Infinity;
    return { source, radius, nodes: Int32Array.from(outNodes), dist: Float64Array.from(outDist) };
  }

  private push(key: number, node: number): void {
    if (this.heapSize === this.heapKey.length) {
      const k = new Float64Array(this.heapKey.length * 2);
      k.set(this.heapKey);
      const v = new Int32Array(this.heapNode.length * 2);
      v.set(this.heapNode);
      this.heapKey = k;
      this.heapNode = v;
    }
    let i = this.heapSize++;
    const keys = this.heapKey;
    const nodes = this.heapNode;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] < key || (keys[p] === key && nodes[p] <= node)) break;
      keys[i] = keys[p];
      nodes[i] = nodes[p];
      i = p;
    }
    keys[i] = key;
    nodes[i] = node;
  }

  private pop(): void {
    const keys = this.heapKey;
    const nodes = this.heapNode;
    const size = --this.heapSize;
    if (size === 0) return;
    const key = keys[size];
    const node = nodes[size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && (keys[c + 1] < keys[c] || (keys[c + 1] === keys[c] && nodes[c + 1] < nodes[c]))) c++;
      if (keys[c] > key || (keys[c] === key && nodes[c] >= node)) break;
      keys[i] = keys[c];
      nodes[i] = nodes[c];
      i = c;
    }
    keys[i] = key;
    nodes[i] = node;
  }
}
