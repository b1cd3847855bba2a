/**
 * Island grouping: partition nodes into latency-bounded islands from sparse RTT samples.
 *
 * Pure and deterministic: no I/O, no clock, no randomness; nodes are processed by sorted id and every
 * tie is broken by id, so the same input gives the same output. README.md in this folder explains
 * the rules; the order of work is:
 *
 *   1. Build the measured graph (fresh samples only; lossy pairs = never together).
 *   2. Keep previous islands: members stay while every pair is within the tier bound (the keep bound).
 *      Non-busy members that break it leave (fewest possible, greedy vertex cover of the failing
 *      pairs); busy members never move and pairs they break are reported as violations. A kept island
 *      that fell below its minimum size and has no busy member is dissolved. A kept island that now
 *      fits a tighter tier's join bound is relabelled (nobody moves).
 *   3. For each tier, tightest first, the nodes without an island (new, released, dissolved):
 *      a. join an existing island of the tier if every pair fits the join bound
 *         (bound / (1 + hysteresisMargin)), most-connected island first;
 *      b. the rest form new islands: greedy center-based clustering. The densest remaining node is the
 *         anchor; candidates are taken nearest-first (shortest-path distance from the anchor) and
 *         admitted only if every pair with the current members fits the join bound;
 *      c. new islands merge into another island of the tier (smallest first) when every cross pair
 *         fits the join bound;
 *      d. new islands smaller than the tier minimum are dissolved; their nodes try (a) again, then
 *         fall through to the next tier;
 *      e. kept non-busy members of looser-tier islands may upgrade into an island of this tier if they
 *         fit its join bound and their island stays at or above its minimum size.
 *   4. Whatever is left is unassigned, with a reason.
 *   5. Final validation of every island over all pairs at the keep bound: this pass is the source of
 *      the reported diameters, the probe requests and the violations, and it repairs (removes) any
 *      non-busy member that would break the bound, so the guarantee does not depend on the steps above.
 */
import { MAX_WAYPOINTS, PairBounds, PairKind } from './bounds';
import { buildGraph, measured, ShortestPaths, type LatencyGraph, type SparseDist } from './graph';
import type { Island, Move, ProbeRequest, TopologyInput, TopologyNode, TopologyResult, Unassigned, UnassignedReason, Violation } from './types';

export const DEFAULTS = {
  hysteresisMargin: 0.1,
  minIslandSize: 2,
  staleAfterMs: 60 * 60 * 1000,
  maxLoss: 0.05,
  inferenceSafetyFactor: 1.1,
  maxProbeRequests: 1000,
  allowUpgrades: true,
} as const;

interface ResolvedTier {
  name: string;
  boundMs: number;
  /** Join bound: boundMs / (1 + margin). */
  joinMs: number;
  minSize: number;
}

interface IslandState {
  id: string;
  tier: number;
  group: number;
  members: number[];
  anchor: number;
  /** Inference waypoints (anchor first, then anchors of merged islands) and their shortest-path trees. */
  waypoints: number[];
  dists: SparseDist[];
  kept: boolean;
  formedNow: boolean;
  alive: boolean;
}

export function computeIslands(input: TopologyInput): TopologyResult {
  return new Grouper(input).run();
}

class Grouper {
  private readonly tiers: ResolvedTier[];
  private readonly margin: number;
  private readonly safety: number;
  private readonly maxSize: number;
  private readonly maxProbes: number;
  private readonly allowUpgrades: boolean;
  private readonly requiredOnly: boolean;
  private readonly holdTier: ReadonlySet<string>;
  private readonly nodes: TopologyNode[];
  private readonly g: LatencyGraph;
  private readonly pb: PairBounds;
  private readonly sp: ShortestPaths;
  private readonly n: number;
  private readonly group: Int32Array;
  private readonly busy: Uint8Array;
  private readonly nodeIsland: Int32Array;
  private readonly prevIsland: (string | undefined)[];
  /** Largest island size a node reached in a dissolved island (for the unassigned reason). */
  private readonly dissolvedFrom: Int32Array;
  private readonly islands: IslandState[] = [];
  private readonly violations: Violation[] = [];
  private readonly violationProbes: ProbeRequest[] = [];
  private readonly sampleCount: number;
  private readonly previousMeta = new Map<string, { tier?: string; anchor?: string; waypoints?: string[] }>();

  constructor(input: TopologyInput) {
    const o = input.options ?? {};
    this.margin = o.hysteresisMargin ?? DEFAULTS.hysteresisMargin;
    this.safety = o.inferenceSafetyFactor ?? DEFAULTS.inferenceSafetyFactor;
    this.maxSize = o.maxIslandSize ?? Infinity;
    this.maxProbes = o.maxProbeRequests ?? DEFAULTS.maxProbeRequests;
    this.allowUpgrades = o.allowUpgrades ?? DEFAULTS.allowUpgrades;
    this.requiredOnly = o.requiredChangesOnly ?? false;
    this.holdTier = new Set(o.holdTier ?? []);
    if (!(this.margin >= 0 && Number.isFinite(this.margin))) throw new Error('hysteresisMargin must be a finite number >= 0');
    if (!(this.safety >= 1 && Number.isFinite(this.safety))) throw new Error('inferenceSafetyFactor must be a finite number >= 1');
    if (!(this.maxSize >= 1)) throw new Error('maxIslandSize must be >= 1');
    const defaultMin = o.minIslandSize ?? DEFAULTS.minIslandSize;

    if (input.tiers.length === 0) throw new Error('at least one tier is required');
    const names = new Set<string>();
    for (const t of input.tiers) {
      if (!(t.boundMs > 0 && Number.isFinite(t.boundMs))) throw new Error(`tier ${t.name}: boundMs must be a positive number`);
      if (names.has(t.name)) throw new Error(`duplicate tier ${t.name}`);
      names.add(t.name);
    }
    this.tiers = [...input.tiers]
      .sort((x, y) => x.boundMs - y.boundMs || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
      .map((t) => ({
        name: t.name,
        boundMs: t.boundMs,
        joinMs: t.boundMs / (1 + this.margin),
        minSize: Math.max(1, t.minIslandSize ?? defaultMin),
      }));

    this.nodes = [...input.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let i = 1; i < this.nodes.length; i++) {
      if (this.nodes[i].id === this.nodes[i - 1].id) throw new Error(`duplicate node id ${this.nodes[i].id}`);
    }
    const ids = this.nodes.map((x) => x.id);
    this.n = ids.length;
    let newest = -Infinity;
    for (const s of input.samples) if (s.measuredAt > newest) newest = s.measuredAt;
    this.sampleCount = input.samples.length;
    this.g = buildGraph(ids, input.samples, {
      nowMs: o.nowMs ?? (Number.isFinite(newest) ? newest : 0),
      staleAfterMs: o.staleAfterMs ?? DEFAULTS.staleAfterMs,
      maxLoss: o.maxLoss ?? DEFAULTS.maxLoss,
    });
    this.pb = new PairBounds(this.g, this.safety);
    this.sp = new ShortestPaths(this.g);

    // Hard-tag groups: the exact map (sorted keys) is the group; group ids follow the sorted keys.
    const keyOf = (x: TopologyNode) => JSON.stringify(Object.entries(x.hardTags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const keys = [...new Set(this.nodes.map(keyOf))].sort();
    const groupIds = new Map(keys.map((k, i) => [k, i]));
    this.group = Int32Array.from(this.nodes.map((x) => groupIds.get(keyOf(x)) ?? 0));
    this.busy = Uint8Array.from(this.nodes.map((x) => (x.busy ? 1 : 0)));
    this.nodeIsland = new Int32Array(this.n).fill(-1);
    this.dissolvedFrom = new Int32Array(this.n);

    const fromMembers = new Map<string, string>();
    for (const p of input.previous ?? []) {
      this.previousMeta.set(p.id, { tier: p.tier, anchor: p.anchor, waypoints: p.waypoints });
      for (const m of p.members ?? []) if (!fromMembers.has(m)) fromMembers.set(m, p.id);
    }
    this.prevIsland = this.nodes.map((x) => x.currentIsland ?? fromMembers.get(x.id));
  }

  run(): TopologyResult {
    this.keepPrevious();
    // Only what the bounds force: nobody joins, no island forms, merges or moves up a tier.
    if (this.requiredOnly) return this.finish();
    let pool = this.unplaced();
    for (let t = 0; t < this.tiers.length; t++) {
      pool = this.joinExisting(pool, t);
      this.formNew(pool, t);
      this.mergeNew(t);
      this.dissolveSmallNew(t);
      pool = this.joinExisting(this.unplaced(), t);
      if (this.allowUpgrades) this.upgradeMembers(t);
    }
    return this.finish();
  }

  // -------------------------------------------------------------------------------------------
  // Step 2: previous islands

  private keepPrevious(): void {
    const byIsland = new Map<string, number[]>();
    for (let i = 0; i < this.n; i++) {
      const p = this.prevIsland[i];
      if (p === undefined) continue;
      const list = byIsland.get(p);
      if (list) list.push(i);
      else byIsland.set(p, [i]);
    }
    const ids = [...byIsland.keys()].sort();
    for (const id of ids) {
      let members = byIsland.get(id) ?? [];
      const meta = this.previousMeta.get(id);
      let tier = this.tiers.findIndex((t) => t.name === meta?.tier);
      if (tier < 0) tier = this.tiers.length - 1;

      // One hard-tag group per island: the busy members' majority (else everyone's), ties by group id.
      const busyMembers = members.filter((m) => this.busy[m]);
      const voters = busyMembers.length > 0 ? busyMembers : members;
      const counts = new Map<number, number>();
      for (const m of voters) counts.set(this.group[m], (counts.get(this.group[m]) ?? 0) + 1);
      let group = -1;
      let best = -1;
      for (const [gid, c] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
        if (c > best) {
          best = c;
          group = gid;
        }
      }
      const conflicting = members.filter((m) => this.group[m] !== group && this.busy[m]);
      if (conflicting.length > 0) {
        this.violations.push({
          kind: 'busy-hard-tag-conflict',
          island: id,
          nodes: conflicting.map((m) => this.g.ids[m]),
          boundMs: this.tiers[tier].boundMs,
        });
      }
      members = members.filter((m) => this.group[m] === group || this.busy[m]);

      const anchorIdx = meta?.anchor !== undefined ? this.g.index.get(meta.anchor) : undefined;
      const anchor =
        anchorIdx !== undefined && members.includes(anchorIdx) && this.group[anchorIdx] === group
          ? anchorIdx
          : this.pickAnchor(members, this.tiers[tier].joinMs);
      const waypoints = [anchor];
      for (const w of meta?.waypoints ?? []) {
        const wi = this.g.index.get(w);
        if (wi !== undefined && !waypoints.includes(wi) && waypoints.length < MAX_WAYPOINTS) waypoints.push(wi);
      }
      const isl: IslandState = {
        id,
        tier,
        group,
        members,
        anchor,
        waypoints,
        dists: waypoints.map((w) => this.sp.from(w, this.tiers[tier].boundMs / this.safety)),
        kept: true,
        formedNow: false,
        alive: true,
      };
      const k = this.islands.length;
      this.islands.push(isl);
      for (const m of members) this.nodeIsland[m] = k;

      this.relaxInsteadOfBreaking(isl);
      tier = isl.tier;
      this.repair(k, this.tiers[tier].boundMs);
      if (isl.members.length < this.tiers[tier].minSize && !isl.members.some((m) => this.busy[m])) {
        this.dissolve(k);
        continue;
      }
      // Relabel to a tighter tier if the island already fits it with the margin (nobody moves);
      // never forced, so not when only forced changes are wanted or the caller holds its tier.
      if (this.requiredOnly || this.holdTier.has(id)) continue;
      for (let t = 0; t < tier; t++) {
        if (isl.members.length >= this.tiers[t].minSize && this.allPairsWithin(isl, this.tiers[t].joinMs)) {
          isl.tier = t;
          break;
        }
      }
    }
  }

  /**
   * An island whose pairs drifted past its bound would lose members in repair; when that would leave
   * it below its tier's minimum (so it would dissolve and be re-formed under a new id, i.e. a new SLURM
   * cluster), it is relabelled to the tightest looser tier it still fits whole instead. Larger islands
   * keep their tier and shed the drifting members. The bound itself is never exceeded.
   */
  private relaxInsteadOfBreaking(isl: IslandState): void {
    const tier = isl.tier;
    const removals = this.planRepair(isl, this.tiers[tier].boundMs);
    if (removals.length === 0 || isl.members.length - removals.length >= this.tiers[tier].minSize) return;
    const original = isl.dists;
    for (let t = tier + 1; t < this.tiers.length; t++) {
      isl.dists = isl.waypoints.map((w) => this.sp.from(w, this.tiers[t].boundMs / this.safety));
      if (isl.members.length >= this.tiers[t].minSize && this.allPairsWithin(isl, this.tiers[t].boundMs)) {
        isl.tier = t;
        return;
      }
    }
    isl.dists = original;
  }

  /** Member with the most measured members within joinMs / 2; ties by index. */
  private pickAnchor(members: number[], joinMs: number): number {
    const inIsland = new Set(members);
    let best = members[0];
    let bestScore = -1;
    for (const m of [...members].sort((a, b) => a - b)) {
      let score = 0;
      for (let e = this.g.offsets[m]; e < this.g.offsets[m + 1]; e++) {
        if (this.g.rtt[e] <= joinMs / 2 && inIsland.has(this.g.nbr[e])) score++;
      }
      if (score > bestScore) {
        bestScore = score;
        best = m;
      }
    }
    return best;
  }

  /**
   * Remove the fewest non-busy members (greedy vertex cover) so that no pair exceeds `limit`, except
   * pairs of two busy members (those stay; finish() reports them). Waypoints stay as they are, so a
   * removal never un-bounds another pair.
   */
  private repair(k: number, limit: number): number[] {
    const isl = this.islands[k];
    const removed = this.planRepair(isl, limit);
    const gone = new Set(removed);
    if (removed.length > 0) {
      isl.members = isl.members.filter((m) => !gone.has(m));
      for (const m of removed) this.nodeIsland[m] = -1;
      if (gone.has(isl.anchor) && isl.members.length > 0) {
        // The old anchor stays a waypoint (its paths are still valid); the label moves to the member
        // nearest to it.
        const d = new Map<number, number>();
        const dist = isl.dists[0];
        for (let i = 0; i < dist.nodes.length; i++) d.set(dist.nodes[i], dist.dist[i]);
        isl.anchor = [...isl.members].sort((a, b) => (d.get(a) ?? Infinity) - (d.get(b) ?? Infinity) || a - b)[0];
      }
    }
    return removed;
  }

  /** The members repair would remove (fewest non-busy members covering every pair over `limit`), without removing them. */
  private planRepair(isl: IslandState, limit: number): number[] {
    const failing: Array<[number, number]> = [];
    this.scan(isl, limit, (a, b, ub) => {
      if (ub > limit && !(this.busy[a] && this.busy[b])) failing.push([a, b]);
    });
    const removed: number[] = [];
    const gone = new Set<number>();
    while (true) {
      const count = new Map<number, number>();
      for (const [a, b] of failing) {
        if (gone.has(a) || gone.has(b)) continue;
        if (!this.busy[a]) count.set(a, (count.get(a) ?? 0) + 1);
        if (!this.busy[b]) count.set(b, (count.get(b) ?? 0) + 1);
      }
      if (count.size === 0) break;
      let pick = -1;
      let pickCount = -1;
      for (const [m, c] of count) {
        // Most failing pairs first; then keep the anchor; then remove the larger index.
        const better = c > pickCount || (c === pickCount && (pick === isl.anchor || (m !== isl.anchor && m > pick)));
        if (better) {
          pick = m;
          pickCount = c;
        }
      }
      gone.add(pick);
      removed.push(pick);
    }
    return removed;
  }

  private dissolve(k: number): void {
    const isl = this.islands[k];
    isl.alive = false;
    for (const m of isl.members) {
      this.nodeIsland[m] = -1;
      this.dissolvedFrom[m] = Math.max(this.dissolvedFrom[m], isl.members.length);
    }
    isl.members = [];
  }

  // -------------------------------------------------------------------------------------------
  // Pair scans

  /** Calls fn for every member pair (a < b by index) with its upper bound (early-exit search at `enough`). */
  private scan(isl: IslandState, enough: number, fn: (a: number, b: number, ub: number, kind: PairKind) => void): void {
    const members = [...isl.members].sort((a, b) => a - b);
    this.pb.setWaypoints(isl.dists);
    for (let i = 0; i < members.length; i++) {
      this.pb.loadRow(members[i]);
      for (let j = i + 1; j < members.length; j++) {
        const ub = this.pb.bound(members[j], enough);
        fn(members[i], members[j], ub, this.pb.lastKind);
      }
    }
  }

  private allPairsWithin(isl: IslandState, limit: number): boolean {
    const members = isl.members;
    this.pb.setWaypoints(isl.dists);
    for (let i = 0; i < members.length; i++) {
      this.pb.loadRow(members[i]);
      for (let j = i + 1; j < members.length; j++) if (this.pb.bound(members[j], limit) > limit) return false;
    }
    return true;
  }

  /** Would m fit island isl with every pair <= limit? (waypoints must already be loaded) */
  private fitsLoaded(m: number, isl: IslandState, limit: number): boolean {
    this.pb.loadRow(m);
    const members = isl.members;
    for (let i = 0; i < members.length; i++) if (this.pb.bound(members[i], limit) > limit) return false;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Step 3: joining, forming, merging

  private unplaced(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.nodeIsland[i] < 0) out.push(i);
    return out;
  }

  /** Candidate islands of tier t for node m, most measured close neighbours first, then id. */
  private candidateIslands(m: number, t: number, reach: Map<number, number[]> | null, exclude: number): number[] {
    const join = this.tiers[t].joinMs;
    const score = new Map<number, number>();
    for (let e = this.g.offsets[m]; e < this.g.offsets[m + 1]; e++) {
      if (this.g.rtt[e] > join) continue;
      const k = this.nodeIsland[this.g.nbr[e]];
      if (k < 0 || k === exclude) continue;
      const isl = this.islands[k];
      if (isl.tier !== t || isl.group !== this.group[m]) continue;
      score.set(k, (score.get(k) ?? 0) + 1);
    }
    for (const k of reach?.get(m) ?? []) {
      const isl = this.islands[k];
      if (k !== exclude && isl.alive && isl.tier === t && isl.group === this.group[m] && !score.has(k)) score.set(k, 0);
    }
    return [...score.entries()].sort((x, y) => y[1] - x[1] || (this.islands[x[0]].id < this.islands[y[0]].id ? -1 : 1)).map(([k]) => k);
  }

  /** Nodes reachable (within the join bound) from the anchor of some island of tier t: node -> islands. */
  private reachOf(t: number, wanted: Uint8Array): Map<number, number[]> {
    const reach = new Map<number, number[]>();
    const limit = this.tiers[t].joinMs / this.safety;
    for (let k = 0; k < this.islands.length; k++) {
      const isl = this.islands[k];
      if (!isl.alive || isl.tier !== t) continue;
      const d = isl.dists[0];
      for (let i = 0; i < d.nodes.length; i++) {
        const v = d.nodes[i];
        if (!wanted[v] || d.dist[i] > limit) continue;
        const list = reach.get(v);
        if (list) list.push(k);
        else reach.set(v, [k]);
      }
    }
    return reach;
  }

  private addMember(k: number, m: number): void {
    this.islands[k].members.push(m);
    this.nodeIsland[m] = k;
  }

  /** Pool nodes join existing islands of tier t where every pair fits the join bound; returns the rest. */
  private joinExisting(pool: number[], t: number): number[] {
    if (pool.length === 0 || !this.islands.some((x) => x.alive && x.tier === t)) return pool;
    const wanted = new Uint8Array(this.n);
    for (const m of pool) wanted[m] = 1;
    const reach = this.reachOf(t, wanted);
    const join = this.tiers[t].joinMs;
    const rest: number[] = [];
    for (const m of pool) {
      let placed = false;
      for (const k of this.candidateIslands(m, t, reach, -1)) {
        const isl = this.islands[k];
        if (isl.members.length >= this.maxSize) continue;
        this.pb.setWaypoints(isl.dists);
        if (this.fitsLoaded(m, isl, join)) {
          this.addMember(k, m);
          placed = true;
          break;
        }
      }
      if (!placed) rest.push(m);
    }
    return rest;
  }

  /** Greedy center-based clustering of the pool into new islands of tier t, per hard-tag group. */
  private formNew(pool: number[], t: number): void {
    const { joinMs, boundMs } = this.tiers[t];
    const { offsets, nbr, rtt } = this.g;
    const available = new Uint8Array(this.n);
    for (const m of pool) available[m] = 1;
    const score = new Int32Array(this.n);
    const close = joinMs / 2;
    for (const m of pool) {
      for (let e = offsets[m]; e < offsets[m + 1]; e++) {
        const x = nbr[e];
        if (rtt[e] <= close && available[x] && this.group[x] === this.group[m]) score[m]++;
      }
    }
    let remaining = pool.length;
    const take = (m: number) => {
      available[m] = 0;
      remaining--;
      for (let e = offsets[m]; e < offsets[m + 1]; e++) {
        const x = nbr[e];
        if (rtt[e] <= close && available[x] && this.group[x] === this.group[m]) score[x]--;
      }
    };
    while (remaining > 0) {
      // Densest available node (ties: lowest group, then lowest index) anchors the next island.
      let c = -1;
      for (const m of pool) {
        if (!available[m]) continue;
        if (c < 0 || score[m] > score[c]) c = m;
      }
      const dist = this.sp.from(c, boundMs / this.safety);
      const isl: IslandState = {
        id: '',
        tier: t,
        group: this.group[c],
        members: [c],
        anchor: c,
        waypoints: [c],
        dists: [dist],
        kept: false,
        formedNow: true,
        alive: true,
      };
      const k = this.islands.length;
      this.islands.push(isl);
      this.nodeIsland[c] = k;
      take(c);
      this.pb.setWaypoints(isl.dists);
      const joinPath = joinMs / this.safety;
      for (let i = 1; i < dist.nodes.length && isl.members.length < this.maxSize; i++) {
        const m = dist.nodes[i];
        if (!available[m] || this.group[m] !== isl.group) continue;
        const direct = measured(this.g, c, m);
        if (direct !== undefined ? direct > joinMs : dist.dist[i] > joinPath) continue;
        if (this.fitsLoaded(m, isl, joinMs)) {
          this.addMember(k, m);
          take(m);
        }
      }
    }
  }

  /** Each island formed now for tier t (smallest first) merges into another island of the tier if every cross pair fits. */
  private mergeNew(t: number): void {
    const join = this.tiers[t].joinMs;
    const order = this.islands
      .map((isl, k) => ({ isl, k }))
      .filter(({ isl }) => isl.alive && isl.formedNow && isl.tier === t)
      .sort((x, y) => x.isl.members.length - y.isl.members.length || x.isl.anchor - y.isl.anchor)
      .map(({ k }) => k);
    for (const a of order) {
      const A = this.islands[a];
      if (!A.alive) continue;
      const edges = new Map<number, number>();
      for (const m of A.members) {
        for (let e = this.g.offsets[m]; e < this.g.offsets[m + 1]; e++) {
          if (this.g.rtt[e] > join) continue;
          const k = this.nodeIsland[this.g.nbr[e]];
          if (k < 0 || k === a) continue;
          const B = this.islands[k];
          if (B.tier !== t || B.group !== A.group) continue;
          edges.set(k, (edges.get(k) ?? 0) + 1);
        }
      }
      const targets = [...edges.entries()].sort((x, y) => y[1] - x[1] || this.islands[x[0]].anchor - this.islands[y[0]].anchor).map(([k]) => k);
      for (const b of targets) {
        const B = this.islands[b];
        if (A.waypoints.length + B.waypoints.length > MAX_WAYPOINTS) continue;
        if (A.members.length + B.members.length > this.maxSize) continue;
        if (!this.crossFits(A, B, join)) continue;
        for (const m of A.members) this.addMember(b, m);
        B.waypoints.push(...A.waypoints);
        B.dists.push(...A.dists);
        A.alive = false;
        A.members = [];
        break;
      }
    }
  }

  private crossFits(A: IslandState, B: IslandState, limit: number): boolean {
    this.pb.setWaypoints([...A.dists, ...B.dists]);
    for (const a of A.members) {
      this.pb.loadRow(a);
      for (const b of B.members) if (this.pb.bound(b, limit) > limit) return false;
    }
    return true;
  }

  private dissolveSmallNew(t: number): void {
    for (let k = 0; k < this.islands.length; k++) {
      const isl = this.islands[k];
      if (isl.alive && isl.formedNow && isl.tier === t && isl.members.length < this.tiers[t].minSize) this.dissolve(k);
    }
  }

  /** Kept, non-busy members of looser kept islands move into an island of tier t if they fit its join bound. */
  private upgradeMembers(t: number): void {
    const join = this.tiers[t].joinMs;
    for (let k = 0; k < this.islands.length; k++) {
      const src = this.islands[k];
      if (!src.alive || !src.kept || src.tier <= t) continue;
      for (const m of [...src.members].sort((a, b) => a - b)) {
        if (this.busy[m] || m === src.anchor) continue;
        if (src.members.length - 1 < this.tiers[src.tier].minSize) break;
        for (const d of this.candidateIslands(m, t, null, k)) {
          const dst = this.islands[d];
          if (dst.members.length >= this.maxSize) continue;
          this.pb.setWaypoints(dst.dists);
          if (this.fitsLoaded(m, dst, join)) {
            src.members = src.members.filter((x) => x !== m);
            this.addMember(d, m);
            break;
          }
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Steps 4-5: validation and output

  private finish(): TopologyResult {
    const ids = this.g.ids;
    // Ids: kept islands keep theirs; new ones are "<tier>-<anchor id>" (suffixed if taken).
    const used = new Set(this.islands.filter((x) => x.alive && x.kept).map((x) => x.id));
    const fresh = this.islands.filter((x) => x.alive && !x.kept).sort((x, y) => x.anchor - y.anchor);
    for (const isl of fresh) {
      const base = `${this.tiers[isl.tier].name}-${ids[isl.anchor]}`;
      let id = base;
      for (let s = 2; used.has(id); s++) id = `${base}~${s}`;
      used.add(id);
      isl.id = id;
    }

    const probes = new TopK(this.maxProbes);
    let probeCandidates = 0;
    let measuredPairsIn = 0;
    let inferredPairsIn = 0;
    const out: Island[] = [];
    const alive = this.islands
      .map((isl, k) => ({ isl, k }))
      .filter(({ isl }) => isl.alive && isl.members.length > 0)
      .sort((x, y) => (x.isl.id < y.isl.id ? -1 : 1));
    const repaired: number[] = [];
    for (const { isl, k } of alive) {
      const tier = this.tiers[isl.tier];
      // One scan normally; a repair (never expected) means a second one over the remaining members.
      const first = this.measureIsland(isl, tier);
      if (first.needsRepair) repaired.push(...this.repair(k, tier.boundMs));
      if (isl.members.length === 0) continue;
      const { diameter, measuredDiameter, mp, ip, within, local } = first.needsRepair ? this.measureIsland(isl, tier) : first;
      for (const v of local.violations) {
        this.violations.push({ ...v, island: isl.id });
        if (v.kind === 'busy-unbounded') this.violationProbes.push(probe(v.nodes[0], v.nodes[1], 'violation'));
      }
      probeCandidates += local.probes.seen;
      for (const e of local.probes.items()) probes.push(e.score, e.a, e.b, e.ub, e.bound);
      measuredPairsIn += mp;
      inferredPairsIn += ip;
      const members = [...isl.members].sort((a, b) => a - b);
      out.push({
        id: isl.id,
        tier: tier.name,
        boundMs: tier.boundMs,
        members: members.map((m) => ids[m]),
        anchor: ids[isl.anchor],
        waypoints: isl.waypoints.slice(1).map((w) => ids[w]),
        diameterMs: diameter,
        measuredDiameterMs: measuredDiameter,
        measuredPairs: mp,
        inferredPairs: ip,
        withinBound: within,
        kept: isl.kept,
      });
    }

    const unassigned: Unassigned[] = [];
    for (let i = 0; i < this.n; i++) {
      if (this.nodeIsland[i] >= 0) continue;
      let usable = 0;
      for (let e = this.g.offsets[i]; e < this.g.offsets[i + 1]; e++) if (this.g.rtt[e] !== Infinity) usable++;
      const reason: UnassignedReason =
        this.g.offsets[i + 1] === this.g.offsets[i] ? 'unmeasured' : this.dissolvedFrom[i] >= 2 && usable > 0 ? 'island-too-small' : 'no-bounded-peers';
      unassigned.push({ node: ids[i], reason });
    }

    const moved: Move[] = [];
    for (let i = 0; i < this.n; i++) {
      const from = this.prevIsland[i];
      if (from === undefined) continue;
      const k = this.nodeIsland[i];
      const to = k >= 0 ? this.islands[k].id : null;
      if (to !== from) moved.push({ node: ids[i], from, to });
    }

    const probeRequests: ProbeRequest[] = [...this.violationProbes];
    const budget = () => this.maxProbes - probeRequests.length;
    for (const u of unassigned) {
      if (budget() <= 0) break;
      for (const target of this.probeTargets(this.g.index.get(u.node) ?? -1)) {
        if (budget() <= 0) break;
        probeRequests.push(probe(u.node, ids[target], 'unassigned'));
      }
    }
    for (const e of probes.items()) {
      if (budget() <= 0) break;
      probeRequests.push({ ...probe(ids[e.a], ids[e.b], 'inferred'), inferredUpperBoundMs: e.ub, boundMs: e.bound });
    }

    return {
      islands: out,
      unassigned,
      moved,
      probeRequests,
      violations: this.violations,
      stats: {
        nodes: this.n,
        samples: this.sampleCount,
        freshPairs: this.g.freshPairs,
        stalePairsIgnored: this.g.stalePairsIgnored,
        lossyPairs: this.g.lossyPairs,
        islands: out.length,
        assigned: this.n - unassigned.length,
        unassigned: unassigned.length,
        moved: moved.length,
        measuredPairsInIslands: measuredPairsIn,
        inferredPairsInIslands: inferredPairsIn,
        probeCandidates,
        repairedInValidation: repaired.length,
      },
    };
  }

  /** All pairs of one island at its bound: metrics, probe candidates, busy-pair violations. */
  private measureIsland(isl: IslandState, tier: ResolvedTier) {
    const ids = this.g.ids;
    const bound = tier.boundMs;
    let diameter = 0;
    let measuredDiameter = 0;
    let mp = 0;
    let ip = 0;
    let within = true;
    let needsRepair = false;
    const probes = new TopK(this.maxProbes);
    const violations: Array<Omit<Violation, 'island'>> = [];
    this.scan(isl, bound, (a, b, ub, kind) => {
      if (ub > diameter) diameter = ub;
      if (kind === PairKind.Measured) {
        mp++;
        if (ub !== Infinity && ub > measuredDiameter) measuredDiameter = ub;
      } else {
        ip++;
        if (ub <= bound) probes.push(ub / bound, a, b, ub, bound);
      }
      if (ub > bound) {
        if (!(this.busy[a] && this.busy[b])) {
          needsRepair = true;
          return;
        }
        within = false;
        violations.push({
          kind: kind === PairKind.Measured && ub !== Infinity ? 'busy-over-bound' : 'busy-unbounded',
          nodes: [ids[a], ids[b]],
          boundMs: bound,
          upperBoundMs: ub,
        });
      }
    });
    return { diameter, measuredDiameter, mp, ip, within, needsRepair, local: { probes, violations } };
  }

  /**
   * Whom an unassigned node should measure: anchors of up to two islands with its hard tags, preferring
   * islands holding its measured neighbours, then islands whose anchor shares its zone, then region.
   */
  private probeTargets(m: number): number[] {
    if (m < 0) return [];
    const score = new Map<number, number>();
    const bump = (k: number, s: number) => {
      const isl = this.islands[k];
      if (!isl.alive || isl.group !== this.group[m] || isl.members.length === 0) return;
      score.set(k, (score.get(k) ?? 0) + s);
    };
    for (let e = this.g.offsets[m]; e < this.g.offsets[m + 1]; e++) {
      const k = this.nodeIsland[this.g.nbr[e]];
      if (k >= 0) bump(k, 1000);
    }
    const tags = this.nodes[m].tags ?? {};
    for (let k = 0; k < this.islands.length; k++) {
      const isl = this.islands[k];
      if (!isl.alive || isl.members.length === 0) continue;
      const at = this.nodes[isl.anchor].tags ?? {};
      if (tags.zone !== undefined && at.zone === tags.zone) bump(k, 10);
      else if (tags.region !== undefined && at.region === tags.region) bump(k, 1);
    }
    return [...score.entries()]
      .sort((x, y) => y[1] - x[1] || (this.islands[x[0]].id < this.islands[y[0]].id ? -1 : 1))
      .slice(0, 2)
      .map(([k]) => this.islands[k].anchor)
      .filter((a) => a !== m);
  }
}

function probe(x: string, y: string, reason: ProbeRequest['reason']): ProbeRequest {
  return x < y ? { a: x, b: y, reason } : { a: y, b: x, reason };
}

interface TopEntry {
  score: number;
  a: number;
  b: number;
  ub: number;
  bound: number;
}

/** Keeps the `cap` highest-scoring entries (ties: smaller a, then smaller b), as a min-heap. */
class TopK {
  private readonly heap: TopEntry[] = [];
  seen = 0;
  constructor(private readonly cap: number) {}

  /** True if x ranks below y (x would be evicted first). */
  private static lower(x: TopEntry, y: TopEntry): boolean {
    return x.score < y.score || (x.score === y.score && (x.a > y.a || (x.a === y.a && x.b > y.b)));
  }

  push(score: number, a: number, b: number, ub: number, bound: number): void {
    this.seen++;
    if (this.cap <= 0) return;
    const h = this.heap;
    if (h.length >= this.cap) {
      const top = h[0];
      if (score < top.score || (score === top.score && (a > top.a || (a === top.a && b >= top.b)))) return;
    }
    const e = { score, a, b, ub, bound };
    if (h.length < this.cap) {
      h.push(e);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.lower(h[i], h[p])) break;
        [h[i], h[p]] = [h[p], h[i]];
        i = p;
      }
      return;
    }
    if (!TopK.lower(h[0], e)) return;
    h[0] = e;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < h.length && TopK.lower(h[l], h[s])) s = l;
      if (r < h.length && TopK.lower(h[r], h[s])) s = r;
      if (s === i) break;
      [h[i], h[s]] = [h[s], h[i]];
      i = s;
    }
  }

  /** Highest first. */
  items(): TopEntry[] {
    return [...this.heap].sort((x, y) => (TopK.lower(x, y) ? 1 : TopK.lower(y, x) ? -1 : 0));
  }
}
