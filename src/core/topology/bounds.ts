/**
 * Upper bounds on the RTT of a node pair, from sparse measurements.
 *
 *   measured pair      -> the measured median, full stop (Infinity if lossy). A measurement is never
 *                         overridden by inference: a pair measured above the bound is never together,
 *                         even if some path suggests it should be closer.
 *   unmeasured pair    -> safety * (shortest known path), where the paths considered are
 *                         (1) via an island waypoint w: d(w,a) + d(w,b), with d the shortest-path
 *                             distance over measured edges (Dijkstra, through any node);
 *                         (2) via one common measured neighbour x: rtt(a,x) + rtt(x,b).
 *                         This relies on the triangle inequality; `safety` (>= 1) absorbs detours.
 *   nothing bounds it  -> Infinity (unknown is never "close").
 *
 * Evaluation is row-based for speed: loadRow(a) scatters a's measured neighbours into a stamped dense
 * array, so bound(b) for many b is O(1) each, plus a lazily computed two-hop row when the waypoint
 * path is not enough.
 */
import type { LatencyGraph, SparseDist } from './graph';

export const enum PairKind {
  Measured = 0,
  Inferred = 1,
  Unknown = 2,
}

export const MAX_WAYPOINTS = 4;

export class PairBounds {
  private readonly rowStamp: Int32Array;
  private readonly rowVal: Float64Array;
  private stamp = 0;
  private readonly twoStamp: Int32Array;
  private readonly twoVal: Float64Array;
  private twoGen = 0;
  private twoReady = false;
  /** The two-hop row holds every path sum <= twoCut (shorter cut-offs skip useless neighbours). */
  private twoCut = 0;
  private row = -1;
  private readonly slots: Float64Array[] = [];
  private readonly slotLoaded: (SparseDist | null)[] = [];
  private activeSlots = 0;
  /** Kind of the last bound() answer. */
  lastKind: PairKind = PairKind.Unknown;

  constructor(
    private readonly g: LatencyGraph,
    readonly safety: number,
  ) {
    this.rowStamp = new Int32Array(g.n);
    this.rowVal = new Float64Array(g.n);
    this.twoStamp = new Int32Array(g.n);
    this.twoVal = new Float64Array(g.n);
    for (let k = 0; k < 2 * MAX_WAYPOINTS; k++) {
      this.slots.push(new Float64Array(g.n).fill(Infinity));
      this.slotLoaded.push(null);
    }
  }

  /** Load the shortest-path trees of the waypoints used for inference (at most 2 * MAX_WAYPOINTS). */
  setWaypoints(dists: SparseDist[]): void {
    if (dists.length > this.slots.length) throw new Error(`too many waypoints (${dists.length})`);
    for (let k = 0; k < this.slots.length; k++) {
      const want = k < dists.length ? dists[k] : null;
      if (this.slotLoaded[k] === want) continue;
      const slot = this.slots[k];
      const old = this.slotLoaded[k];
      if (old) for (let i = 0; i < old.nodes.length; i++) slot[old.nodes[i]] = Infinity;
      if (want) for (let i = 0; i < want.nodes.length; i++) slot[want.nodes[i]] = want.dist[i];
      this.slotLoaded[k] = want;
    }
    this.activeSlots = dists.length;
  }

  loadRow(a: number): void {
    this.row = a;
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.rowStamp.fill(0);
      this.stamp = 1;
    }
    const { offsets, nbr, rtt } = this.g;
    const st = this.stamp;
    for (let e = offsets[a], end = offsets[a + 1]; e < end; e++) {
      this.rowStamp[nbr[e]] = st;
      this.rowVal[nbr[e]] = rtt[e];
    }
    this.twoReady = false;
  }

  /**
   * Upper bound for (row, b). Stops looking for a tighter inferred bound as soon as one <= `enough`
   * is found (pass Infinity for the tightest available). Sets lastKind.
   */
  bound(b: number, enough: number): number {
    if (b === this.row) {
      this.lastKind = PairKind.Measured;
      return 0;
    }
    if (this.rowStamp[b] === this.stamp) {
      this.lastKind = PairKind.Measured;
      return this.rowVal[b];
    }
    const a = this.row;
    let best = Infinity;
    for (let k = 0; k < this.activeSlots; k++) {
      const slot = this.slots[k];
      const v = slot[a] + slot[b];
      if (v < best) best = v;
    }
    best *= this.safety;
    if (best > enough) {
      const cut = enough / this.safety;
      if (!this.twoReady || cut > this.twoCut) this.computeTwoHop(cut);
      if (this.twoStamp[b] === this.twoGen) {
        const v = this.twoVal[b] * this.safety;
        if (v < best) best = v;
      }
    }
    this.lastKind = best === Infinity ? PairKind.Unknown : PairKind.Inferred;
    return best;
  }

  private computeTwoHop(cut: number): void {
    this.twoReady = true;
    this.twoCut = cut;
    this.twoGen++;
    if (this.twoGen === 0x7fffffff) {
      this.twoStamp.fill(0);
      this.twoGen = 1;
    }
    const gen = this.twoGen;
    const { offsets, nbr, rtt } = this.g;
    const a = this.row;
    for (let e = offsets[a], end = offsets[a + 1]; e < end; e++) {
      const w1 = rtt[e];
      if (w1 > cut || w1 === Infinity) continue;
      const x = nbr[e];
      for (let f = offsets[x], fend = offsets[x + 1]; f < fend; f++) {
        const w = w1 + rtt[f];
        if (w > cut || w === Infinity) continue;
        const y = nbr[f];
        if (this.twoStamp[y] !== gen) {
          this.twoStamp[y] = gen;
          this.twoVal[y] = w;
        } else if (w < this.twoVal[y]) {
          this.twoVal[y] = w;
        }
      }
    }
  }
}
