import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { computeIslands, type RttSample, type Tier, type TopologyInput, type TopologyNode, type TopologyResult } from '../../src/core/topology';
import { makeGeography, Rng } from '../../benchmarks/topology/geography';

const NOW = 1_000_000_000;
const TIERS: Tier[] = [
  { name: 'tight', boundMs: 2 },
  { name: 'loose', boundMs: 30 },
];

function node(id: string, extra: Partial<TopologyNode> = {}): TopologyNode {
  return { id, tags: {}, busy: false, ...extra };
}
function s(a: string, b: string, rttMs: number, extra: Partial<RttSample> = {}): RttSample {
  return { a, b, rttMs, loss: 0, measuredAt: NOW, ...extra };
}
/** Every pair of ids measured at `rtt` (or rtt(a, b)). */
function mesh(ids: string[], rtt: number | ((a: string, b: string) => number)): RttSample[] {
  const out: RttSample[] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) out.push(s(ids[i], ids[j], typeof rtt === 'number' ? rtt : rtt(ids[i], ids[j])));
  }
  return out;
}
function islandOf(r: TopologyResult, id: string): string | undefined {
  return r.islands.find((x) => x.members.includes(id))?.id;
}
function run(input: Partial<TopologyInput> & { nodes: TopologyNode[]; samples: RttSample[] }): TopologyResult {
  return computeIslands({ tiers: TIERS, ...input, options: { nowMs: NOW, ...input.options } });
}

/**
 * Independent check of the guarantee: every pair in an island is either measured within the bound,
 * or (unmeasured) safety * shortest measured path <= bound. Our inference uses paths, whose sum is at
 * least the shortest path, so a proof found by the grouping always passes this check.
 */
function assertGuarantee(input: TopologyInput, r: TopologyResult, safety = 1.1): void {
  const ids = input.nodes.map((x) => x.id).sort();
  const ix = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const m: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(NaN));
  for (const x of input.samples) {
    const a = ix.get(x.a) ?? -1;
    const b = ix.get(x.b) ?? -1;
    const v = (x.loss ?? 0) > 0.05 ? Infinity : x.rttMs;
    m[a][b] = m[b][a] = Number.isNaN(m[a][b]) ? v : Math.max(m[a][b], v); // tests use one time per pair
  }
  const d = m.map((row, i) => row.map((v, j) => (i === j ? 0 : Number.isNaN(v) ? Infinity : v)));
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (d[i][k] + d[k][j] < d[i][j]) d[i][j] = d[i][k] + d[k][j];
      }
  const seen = new Set<string>();
  for (const isl of r.islands) {
    assert.ok(isl.members.length > 0);
    for (const id of isl.members) {
      assert.ok(!seen.has(id), `${id} in two islands`);
      seen.add(id);
    }
    const hard = new Set(isl.members.map((id) => JSON.stringify(Object.entries(input.nodes.find((x) => x.id === id)?.hardTags ?? {}).sort())));
    assert.equal(hard.size, 1, `island ${isl.id} mixes hard tags`);
    const busy = new Set(input.nodes.filter((x) => x.busy).map((x) => x.id));
    for (let i = 0; i < isl.members.length; i++) {
      for (let j = i + 1; j < isl.members.length; j++) {
        const a = ix.get(isl.members[i]) ?? -1;
        const b = ix.get(isl.members[j]) ?? -1;
        if (busy.has(isl.members[i]) && busy.has(isl.members[j])) continue;
        if (!Number.isNaN(m[a][b])) {
          assert.ok(m[a][b] <= isl.boundMs, `${isl.id}: measured ${ids[a]}-${ids[b]} ${m[a][b]} > ${isl.boundMs}`);
        } else {
          assert.ok(safety * d[a][b] <= isl.boundMs + 1e-9, `${isl.id}: ${ids[a]}-${ids[b]} not bounded (path ${d[a][b]})`);
        }
      }
    }
  }
  for (const u of r.unassigned) {
    assert.ok(!seen.has(u.node));
    seen.add(u.node);
  }
  assert.equal(seen.size, n, 'every node is in exactly one island or unassigned');
}

describe('topology: the bound is a guarantee', () => {
  it('groups two measured clusters into two tight islands with exact diameters', () => {
    const a = ['a1', 'a2', 'a3'];
    const b = ['b1', 'b2', 'b3'];
    const samples = [...mesh(a, 0.8), ...mesh(b, 1.2), s('a1', 'b1', 12), s('a2', 'b2', 12.5)];
    const input = { nodes: [...a, ...b].map((id) => node(id)), samples, tiers: TIERS, options: { nowMs: NOW } };
    const r = computeIslands(input);
    assert.deepEqual(
      r.islands.map((x) => [x.id, x.tier, x.members]),
      [
        ['tight-a1', 'tight', a],
        ['tight-b1', 'tight', b],
      ],
    );
    assert.equal(r.islands[0].diameterMs, 0.8);
    assert.equal(r.islands[0].measuredDiameterMs, 0.8);
    assert.equal(r.islands[1].diameterMs, 1.2);
    assert.ok(r.islands.every((x) => x.withinBound && x.inferredPairs === 0));
    assert.deepEqual(r.unassigned, []);
    assert.deepEqual(r.moved, []);
    assertGuarantee(input, r);
  });

  it('never puts together a pair measured above the bound, even if a path says it is closer', () => {
    const samples = [s('a', 'c', 0.5), s('c', 'b', 0.5), s('a', 'b', 2.5)];
    const r = run({ nodes: ['a', 'b', 'c'].map((id) => node(id)), samples });
    const tight = r.islands.filter((x) => x.tier === 'tight');
    for (const isl of tight) assert.ok(!(isl.members.includes('a') && isl.members.includes('b')));
    // The loose tier has room for it: one tight island of two plus the third node cannot go loose alone,
    // so it ends up unassigned or in a loose island, never with its too-far partner in a tight one.
    assertGuarantee({ nodes: ['a', 'b', 'c'].map((id) => node(id)), samples, tiers: TIERS }, r);
  });

  it('treats an unmeasured pair as unknown: no path, no island', () => {
    const samples = [s('a', 'b', 0.3), s('c', 'd', 0.3)];
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => node(id, { tags: { region: 'r1', zone: 'z1' } }));
    const r = run({ nodes, samples });
    assert.notEqual(islandOf(r, 'a'), islandOf(r, 'c'));
    assert.equal(islandOf(r, 'a'), islandOf(r, 'b'));
    assert.deepEqual(r.unassigned, [{ node: 'e', reason: 'unmeasured' }]);
    // e is asked to measure against island anchors (its zone matches both).
    const forE = r.probeRequests.filter((p) => p.reason === 'unassigned');
    assert.ok(forE.length >= 1 && forE.every((p) => p.a === 'e' || p.b === 'e'));
  });

  it('bounds unmeasured pairs by the triangle inequality with the safety factor, and asks to measure them', () => {
    // Star: hub h measured to everyone; leaves not measured to each other.
    const leaves = ['l1', 'l2', 'l3', 'l4'];
    const samples = leaves.map((l) => s('h', l, 0.8));
    const nodes = ['h', ...leaves].map((id) => node(id));
    const r = run({ nodes, samples });
    // 1.1 * (0.8 + 0.8) = 1.76 <= 2 / 1.1: one tight island, 6 inferred pairs.
    assert.equal(r.islands.length, 1);
    assert.equal(r.islands[0].tier, 'tight');
    assert.equal(r.islands[0].inferredPairs, 6);
    assert.equal(r.islands[0].measuredPairs, 4);
    assert.ok(Math.abs(r.islands[0].diameterMs - 1.76) < 1e-9);
    const inferred = r.probeRequests.filter((p) => p.reason === 'inferred');
    assert.equal(inferred.length, 6);
    assert.ok(inferred.every((p) => p.a.startsWith('l') && p.b.startsWith('l') && p.a < p.b));

    // With 0.9 ms spokes the inferred bound 1.98 misses the join bound: the leaves do not share a tight island.
    const far = run({ nodes, samples: leaves.map((l) => s('h', l, 0.9)) });
    for (const isl of far.islands.filter((x) => x.tier === 'tight')) assert.ok(isl.members.length <= 2);
    assertGuarantee({ nodes, samples: leaves.map((l) => s('h', l, 0.9)), tiers: TIERS }, far);
    // With no safety margin at all it fits (2 * 0.9 = 1.8 <= 1.818).
    const bare = run({ nodes, samples: leaves.map((l) => s('h', l, 0.9)), options: { inferenceSafetyFactor: 1 } });
    assert.equal(bare.islands.length, 1);
  });

  it('ignores stale samples and lossy pairs', () => {
    const ids = ['a', 'b', 'c'];
    const stale = mesh(ids, 0.5).map((x) => ({ ...x, measuredAt: NOW - 2 * 3600_000 }));
    const r = run({ nodes: ids.map((id) => node(id)), samples: stale });
    assert.equal(r.islands.length, 0);
    assert.equal(r.stats.stalePairsIgnored, 3);
    assert.ok(r.unassigned.every((u) => u.reason === 'unmeasured'));

    const lossy = [...mesh(ids, 0.5).filter((x) => !(x.a === 'a' && x.b === 'b')), s('a', 'b', 0.5, { loss: 0.2 })];
    const r2 = run({ nodes: ids.map((id) => node(id)), samples: lossy });
    assert.notEqual(islandOf(r2, 'a') ?? 'none-a', islandOf(r2, 'b') ?? 'none-b');
    assert.equal(r2.stats.lossyPairs, 1);
  });

  it('uses the newest fresh sample of a pair, whatever the order', () => {
    const ids = ['a', 'b'];
    const samples = [s('a', 'b', 0.5, { measuredAt: NOW - 1000 }), s('b', 'a', 3, { measuredAt: NOW })];
    const r = run({ nodes: ids.map((id) => node(id)), samples });
    assert.equal(r.islands[0].tier, 'loose');
    const r2 = run({ nodes: ids.map((id) => node(id)), samples: [...samples].reverse() });
    assert.deepEqual(r2, r);
  });

  it('respects hard tags even inside one fully measured metro', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const nodes = ids.map((id, i) => node(id, { hardTags: { jurisdiction: i % 2 ? 'eu' : 'us' } }));
    const input = { nodes, samples: mesh(ids, 0.4), tiers: TIERS, options: { nowMs: NOW } };
    const r = computeIslands(input);
    assert.equal(r.islands.length, 2);
    assertGuarantee(input, r);
    // A node with no hard tags is its own group too.
    const r2 = computeIslands({ ...input, nodes: [...nodes, node('g')], samples: mesh([...ids, 'g'], 0.4) });
    assert.deepEqual(r2.unassigned, [{ node: 'g', reason: 'no-bounded-peers' }]);
  });

  it('falls through tiers: a group too small for tight becomes one loose island', () => {
    const a = ['a1', 'a2', 'a3'];
    const b = ['b1', 'b2', 'b3'];
    const samples = [...mesh(a, 0.5), ...mesh(b, 0.5), ...a.flatMap((x) => b.map((y) => s(x, y, 10)))];
    const tiers: Tier[] = [
      { name: 'tight', boundMs: 2, minIslandSize: 4 },
      { name: 'loose', boundMs: 30 },
    ];
    const r = run({ nodes: [...a, ...b].map((id) => node(id)), samples, tiers });
    assert.deepEqual(
      r.islands.map((x) => [x.tier, x.members.length, x.diameterMs]),
      [['loose', 6, 10]],
    );
  });

  it('merges new islands when every cross pair still fits, to keep the count small', () => {
    // Two cliques measured internally and across at 1.5 ms: one tight island, not two.
    const a = ['a1', 'a2', 'a3'];
    const b = ['b1', 'b2', 'b3'];
    const samples = [...mesh(a, 0.3), ...mesh(b, 0.3), ...a.flatMap((x) => b.map((y) => s(x, y, 1.5)))];
    const r = run({ nodes: [...a, ...b].map((id) => node(id)), samples });
    assert.equal(r.islands.length, 1);
    assert.equal(r.islands[0].members.length, 6);
  });

  it('holds on random sparse inputs (property loop, seeded)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const n = 8 + rng.int(30);
      const ids = Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`);
      // Points on a line segment of 0..L ms plus access latency: a metric; sometimes very sparse.
      const pos = ids.map(() => rng.range(0, rng.next() < 0.5 ? 3 : 40));
      const acc = ids.map(() => rng.range(0.05, 0.5));
      const density = rng.range(0.05, 0.9);
      const samples: RttSample[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          if (rng.next() > density) continue;
          const lossy = rng.next() < 0.03;
          samples.push(s(ids[i], ids[j], Math.abs(pos[i] - pos[j]) + acc[i] + acc[j], { loss: lossy ? 0.5 : 0 }));
        }
      }
      const nodes = ids.map((id) =>
        node(id, {
          hardTags: rng.next() < 0.3 ? { gpu: rng.next() < 0.5 ? 'a100' : 'h100' } : undefined,
          busy: false,
        }),
      );
      const tiers: Tier[] = [
        { name: 'tight', boundMs: 1 + rng.range(0, 2) },
        { name: 'loose', boundMs: 10 + rng.range(0, 20) },
      ];
      const safety = 1 + rng.range(0, 0.3);
      const input = { nodes, samples, tiers, options: { nowMs: NOW, inferenceSafetyFactor: safety } };
      const r = computeIslands(input);
      assertGuarantee(input, r, safety);
      assert.equal(r.stats.repairedInValidation, 0, `seed ${seed}: an earlier step admitted a bad pair`);
      for (const isl of r.islands) {
        assert.ok(isl.diameterMs <= isl.boundMs, `seed ${seed}: ${isl.id} diameter ${isl.diameterMs}`);
        // Ground truth is a metric here, so the guarantee holds for the true RTT too.
        const ix = isl.members.map((id) => ids.indexOf(id));
        for (const a of ix)
          for (const b of ix) {
            if (a < b) assert.ok(Math.abs(pos[a] - pos[b]) + acc[a] + acc[b] <= isl.boundMs + 1e-9);
          }
      }
    }
  });

  it('holds on the synthetic geography against the ground truth', () => {
    const geo = makeGeography({ seed: 7, nodes: 600, sitesPerRegion: 3, localPeers: 12, regionPeers: 3, farPeers: 2 });
    const r = computeIslands({ nodes: geo.nodes, samples: geo.samples, tiers: TIERS });
    const ix = new Map(geo.nodes.map((x, i) => [x.id, i]));
    assert.ok(r.islands.length > 0);
    for (const isl of r.islands) {
      const m = isl.members.map((id) => ix.get(id) ?? -1);
      for (let i = 0; i < m.length; i++)
        for (let j = i + 1; j < m.length; j++) {
          assert.ok(geo.trueRtt(m[i], m[j]) <= isl.boundMs, `${isl.id}: true RTT over bound`);
        }
    }
    assert.equal(r.stats.repairedInValidation, 0);
    assert.ok(r.unassigned.length < 60, `unassigned ${r.unassigned.length}`);
  });
});

describe('topology: determinism', () => {
  it('gives the same output for shuffled nodes and samples', () => {
    const geo = makeGeography({ seed: 3, nodes: 400, sitesPerRegion: 2, localPeers: 10 });
    const a = computeIslands({ nodes: geo.nodes, samples: geo.samples, tiers: TIERS });
    const rng = new Rng(99);
    const shuffle = <T>(xs: T[]) => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    };
    const b = computeIslands({ nodes: shuffle(geo.nodes), samples: shuffle(geo.samples), tiers: [...TIERS].reverse() });
    assert.deepEqual(b, a);
  });
});

describe('topology: input checks', () => {
  it('refuses duplicate node ids, no tiers, a safety factor below 1', () => {
    assert.throws(() => computeIslands({ nodes: [node('a'), node('a')], samples: [], tiers: TIERS }), /duplicate node/);
    assert.throws(() => computeIslands({ nodes: [node('a')], samples: [], tiers: [] }), /at least one tier/);
    assert.throws(() => computeIslands({ nodes: [node('a')], samples: [], tiers: TIERS, options: { inferenceSafetyFactor: 0.9 } }), /inferenceSafetyFactor/);
  });
});
