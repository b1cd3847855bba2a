import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeIslands,
  EMPTY_STABILITY_STATE,
  stableIslands,
  type RttSample,
  type StabilityState,
  type Tier,
  type TopologyNode,
  type TopologyResult,
} from '../../src/core/topology';
import { membershipWaitReason, waitsForMembership } from '../../src/core/dispatch/membership-wait';

const TIERS: Tier[] = [
  { name: 'tight', boundMs: 2 },
  { name: 'loose', boundMs: 30 },
];
const MINUTE = 60_000;

function mesh(ids: string[], rtt: (a: string, b: string) => number, at: number): RttSample[] {
  const out: RttSample[] = [];
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) out.push({ a: ids[i], b: ids[j], rttMs: rtt(ids[i], ids[j]), loss: 0, measuredAt: at });
  return out;
}

/** The islands of `r` as the next pass's input: each node's current island, and the islands' tiers and anchors. */
function carried(ids: string[], r: TopologyResult | null, busy = new Set<string>()) {
  const where = new Map<string, string>();
  for (const isl of r?.islands ?? []) for (const m of isl.members) where.set(m, isl.id);
  const nodes: TopologyNode[] = ids.map((id) => ({ id, busy: busy.has(id), currentIsland: where.get(id) }));
  const previous = (r?.islands ?? []).map((x) => ({ id: x.id, tier: x.tier, anchor: x.anchor, waypoints: x.waypoints }));
  return { nodes, previous };
}

function tierChanges(before: TopologyResult | null, after: TopologyResult): number {
  const old = new Map((before?.islands ?? []).map((x) => [x.id, x.tier]));
  return after.islands.filter((x) => old.has(x.id) && old.get(x.id) !== x.tier).length;
}

/** Runs passes, one a minute; `rtt(pass)` gives each pass's samples. Returns every pass's result. */
function passes(ids: string[], count: number, rtt: (pass: number) => (a: string, b: string) => number, damped: boolean, options = {}) {
  let last: TopologyResult | null = null;
  let state: StabilityState = EMPTY_STABILITY_STATE;
  const results: TopologyResult[] = [];
  for (let p = 0; p < count; p++) {
    const now = p * MINUTE;
    const input = { ...carried(ids, last), samples: mesh(ids, rtt(p), now), tiers: TIERS, options: { nowMs: now } };
    if (damped) {
      const step = stableIslands(input, state, now, options);
      state = step.state;
      last = step.result;
    } else last = computeIslands(input);
    results.push(last);
  }
  return results;
}

describe('topology: hysteresis in time', () => {
  it('a pair that jitters across the tight bound relaxes once and does not flap back on single good passes', () => {
    const ids = ['a', 'b'];
    // 1.7 ms (fits tight's join bound, 1.82) and 2.1 ms (past its bound, 2) alternating.
    const jitter = (p: number) => () => (p === 0 || p % 2 === 0 ? 1.7 : 2.1);
    const count = (results: TopologyResult[]) => results.reduce((n, r, i) => n + tierChanges(i ? results[i - 1] : null, r), 0);
    const undamped = passes(ids, 20, jitter, false);
    const damped = passes(ids, 20, jitter, true);
    assert.ok(count(undamped) >= 18, `without time hysteresis it flaps every pass (${count(undamped)})`);
    // The first island forms after 3 passes proposing it; it may form loose or tight, then relax at
    // most once: the bound is never exceeded, and going back needs 3 good passes in a row.
    assert.ok(count(damped) <= 1, `${count(damped)} tier changes`);
    for (const r of damped) for (const isl of r.islands) assert.ok(isl.withinBound);
  });

  it('goes back to the tighter tier once the pair has fitted it for 3 passes in a row', () => {
    const ids = ['a', 'b'];
    const rtt = (p: number) => () => (p < 6 ? 2.5 : 1.5);
    const damped = passes(ids, 12, rtt, true);
    assert.deepEqual(
      damped.map((r) => r.islands[0]?.tier ?? '-'),
      ['-', '-', 'loose', 'loose', 'loose', 'loose', 'loose', 'loose', 'tight', 'tight', 'tight', 'tight'],
    );
  });

  it('a joining node waits ("pending") until the same placement was proposed 3 passes in a row', () => {
    const ids = ['a', 'b', 'c'];
    let last: TopologyResult | null = null;
    let state = EMPTY_STABILITY_STATE;
    const seen: string[] = [];
    for (let p = 0; p < 4; p++) {
      const step = stableIslands(
        { ...carried(ids, last), samples: mesh(ids, () => 0.5, p * MINUTE), tiers: TIERS, options: { nowMs: p * MINUTE } },
        state,
        p * MINUTE,
      );
      state = step.state;
      last = step.result;
      seen.push(last.islands.map((x) => x.members.join('+')).join(',') || `pending:${last.unassigned.filter((u) => u.reason === 'pending').length}`);
    }
    assert.deepEqual(seen, ['pending:3', 'pending:3', 'a+b+c', 'a+b+c']);
  });

  it('a member whose pairs break the bound leaves at once: forced changes are never held back', () => {
    const ids = ['a', 'b', 'c'];
    const far = (p: number) => (a: string, b: string) => (p >= 4 && (a === 'c' || b === 'c') ? 5 : 0.5);
    const damped = passes(ids, 5, far, true);
    assert.deepEqual(
      damped[3].islands.map((x) => x.members),
      [['a', 'b', 'c']],
    );
    assert.deepEqual(
      damped[4].islands.filter((x) => x.tier === 'tight').map((x) => x.members),
      [['a', 'b']],
      'c left its tight island in the same pass',
    );
  });

  it('moves and tier changes stay within the hourly budget', () => {
    // Two islands that drift loose then fit tight again: two relabels wanted, a budget of one.
    const ids = ['a', 'b', 'c', 'd'];
    const rtt = (p: number) => (a: string, b: string) => {
      const same = a < 'c' === b < 'c';
      if (!same) return 50; // never together
      return p < 6 ? 2.5 : 1.5;
    };
    const damped = passes(ids, 20, rtt, true, { maxChurnPerHour: 1 });
    const tiers = (r: TopologyResult) =>
      r.islands
        .map((x) => x.tier)
        .sort()
        .join(',');
    assert.equal(tiers(damped[8]), 'loose,tight', 'one relabel used the budget');
    assert.equal(tiers(damped[19]), 'loose,tight', 'the other waits for the hour to pass');
  });
});

describe('dispatch while islands change', () => {
  const submitted = new Date('2026-01-01T10:00:00Z');
  it('a job no island fits waits while membership changes, for at most the configured time', () => {
    assert.equal(waitsForMembership(true, submitted, new Date('2026-01-01T10:09:59Z'), 600), true);
    assert.equal(waitsForMembership(true, submitted, new Date('2026-01-01T10:10:00Z'), 600), false, 'then it is rejected for good');
    assert.equal(waitsForMembership(false, submitted, new Date('2026-01-01T10:00:01Z'), 600), false, 'nothing changing: rejected at once');
    assert.match(membershipWaitReason('no island has the feature "ib"'), /^waiting: island membership is changing.*\(now: no island has the feature "ib"\)$/);
  });
});
