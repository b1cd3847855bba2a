import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { CapacitySnapshot, IslandCapacity } from '../../src/core/placement/capacity';
import { deriveDemand } from '../../src/core/placement/job-demand';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import { formatExplanation, placeArray, placeJob, placeMany, Placer, renderTaskIds, type UserConstraints } from '../../src/core/placement';
import { island, node, nodes, snap } from '../support/capacity-fixtures';

const place = (spec: JobSpec, s: CapacitySnapshot, c: UserConstraints = {}) => placeJob(deriveDemand(spec), c, s);
const rejection = (spec: JobSpec, isl: IslandCapacity, c: UserConstraints = {}) => {
  const d = place(spec, snap(isl), c);
  assert.equal(d.status, 'unplaceable', JSON.stringify(d));
  assert.equal(d.candidates.length, 1);
  assert.equal(d.candidates[0].score, null);
  return d.candidates[0].rejected!;
};

describe('placeJob: hard filters reject with a readable reason', () => {
  const base = island('a', nodes('a', 4));
  const cases: Array<[string, JobSpec, IslandCapacity, UserConstraints, RegExp]> = [
    ['island list', {}, base, { islands: ['b'] }, /not one of the islands the job is restricted to \(b\)/],
    ['excluded', {}, base, { excludeIslands: ['a'] }, /excluded by the job/],
    ['region', {}, base, { regions: ['us-east'] }, /region eu-west is not one of the requested us-east/],
    ['provider', {}, base, { providers: ['other'] }, /provider acme is not one of the requested other/],
    ['performance class', {}, base, { performanceClasses: ['hpc'] }, /performance class standard is not one of the requested hpc/],
    ['price', {}, base, { maxPricePerCoreHour: 0.01 }, /price 0.05\/core-hour is above the job's limit of 0.01/],
    [
      'tier, multi-node',
      { nodes: { min: 2 } },
      island('a', nodes('a', 4), { tier: 'loose', boundMs: 30 }),
      {},
      /loose tier \(<= 30 ms\) is too loose: a 2-node job needs the tight tier \(<= 2 ms\); set maxIslandLatencyMs/,
    ],
    ['tier, user bound', {}, base, { maxIslandLatencyMs: 1 }, /tight tier \(<= 2 ms\) is looser than the job's maxIslandLatencyMs of 1 ms/],
    ['partition', { partition: 'gpu' }, base, {}, /no partition gpu \(partitions here: batch, debug\)/],
    ['time', { partition: 'debug', timeLimitMinutes: 60 }, base, {}, /time limit 01:00:00 exceeds partition debug's MaxTime 00:30:00/],
    ['unlimited time', { timeLimitMinutes: null }, base, {}, /no partition fits: time limit UNLIMITED exceeds partition batch's MaxTime 2-00:00:00/],
    ['partition nodes', { partition: 'debug', nodes: { min: 3 } }, base, {}, /partition debug allows at most 2 node\(s\) per job, the job needs 3/],
    ['node count', { nodes: { min: 5 } }, base, {}, /the job needs 5 nodes, the island has 4 usable/],
    ['drained', {}, island('a', nodes('a', 2, { state: 'drain' })), {}, /no usable node \(2 drained or down\)/],
    [
      'GPU model',
      { gres: 'gpu:a100:1' },
      island('a', nodes('a', 2, { gpus: [{ model: 'v100', total: 4, free: 4 }] })),
      {},
      /no a100 GPUs \(GPU models here: v100\)/,
    ],
    [
      'GPU count',
      { gpusPerNode: 'a100:8' },
      island('a', nodes('a', 2, { gpus: [{ model: 'a100', total: 4, free: 4 }] })),
      {},
      /no node has 8 a100 GPUs \(at most 4 per node\)/,
    ],
    ['no GPUs', { gpusPerNode: '1' }, base, {}, /no GPUs/],
    [
      'features',
      { constraint: 'ib&avx512' },
      island('a', nodes('a', 2, { features: ['ib'] })),
      {},
      /no node has features matching "ib&avx512" \(features here: ib\)/,
    ],
    [
      'a signal for the batch shell where slurmrestd 22.05 submits',
      { signal: 'B:USR1@60' },
      island('a', nodes('a', 2), { unsendable: ['batch-signal', 'mem-per-gpu'] }),
      {},
      /reached through slurmrestd without an SSH fallback, which cannot send --signal=B:; islands reached over SSH \(or with an ssh fallback\) can/,
    ],
    [
      '--mem-per-gpu where slurmrestd 22.05 submits',
      { memPerGpuMb: 1000, gpusPerNode: '1' },
      island('a', nodes('a', 2, { gpus: [{ model: 'a100', total: 4, free: 4 }] }), { unsendable: ['batch-signal', 'mem-per-gpu'] }),
      {},
      /cannot send --mem-per-gpu;/,
    ],
    [
      'signal flags where slurmrestd 23.11+ submits',
      { signal: 'R:USR2@30' },
      island('a', nodes('a', 2), { unsendable: ['signal-flags', 'begin-clock-time'] }),
      {},
      /cannot send --signal with B: or R:;/,
    ],
    ['CPUs', { ntasks: 1, cpusPerTask: 32 }, base, {}, /no node has 32 CPUs \(largest: 16\)/],
    ['memory', { memPerNodeMb: 100000 }, base, {}, /no node has 100000 MB of memory \(largest: 64000 MB\)/],
  ];
  for (const [name, spec, isl, c, reason] of cases) {
    it(name, () => assert.match(rejection(spec, isl, c), reason));
  }

  it('a job slurmrestd cannot send goes to an island that can, whatever else is free; other jobs go anywhere', () => {
    const rest2205 = island('rest', nodes('rest', 4), { unsendable: ['batch-signal', 'mem-per-gpu'], pricePerCoreHour: 0.01 });
    const rest2411 = island('modern', nodes('modern', 4), { unsendable: ['signal-flags', 'begin-clock-time'], pricePerCoreHour: 0.01 });
    const ssh = island('ssh', nodes('ssh', 1, { cpusFree: 1 }), { pricePerCoreHour: 0.5 });
    const all = snap(rest2205, rest2411, ssh);
    assert.equal(place({ signal: 'B:USR1@60' }, all).island, 'ssh');
    assert.equal(place({ memPerGpuMb: 100 }, all).island === 'rest', false);
    assert.equal(place({ begin: '2030-01-01T10:00' }, snap(rest2411, ssh)).island, 'ssh');
    assert.equal(place({ begin: 'now+1hour' }, snap(rest2411, ssh)).island, 'modern');
    assert.equal(place({ signal: 'USR1@60' }, snap(rest2205, ssh)).island, 'rest', 'a signal to the steps is sent everywhere');
  });

  it('CPUs and memory must be on the same node', () => {
    const isl = island('a', [node('big-cpu', { cpus: 64, memoryMb: 8000 }), node('big-mem', { cpus: 4, memoryMb: 512000 })]);
    assert.match(rejection({ cpusPerTask: 32, memPerNodeMb: 100000 }, isl), /no single node has 32 CPUs, 100000 MB together/);
  });

  it('too few nodes could ever hold a multi-node job', () => {
    const isl = island('a', [node('a1', { features: ['ib'] }), node('a2'), node('a3')]);
    assert.match(rejection({ nodes: { min: 2 }, constraint: 'ib' }, isl), /only 1 node\(s\) can hold 1 CPUs, features "ib"; the job needs 2/);
  });

  it('unplaceable summarizes the reasons over all islands', () => {
    const d = place({ gres: 'gpu:h100:1' }, snap(island('a', nodes('a', 1)), island('b', nodes('b', 1))));
    assert.equal(d.status, 'unplaceable');
    assert.equal(d.reason, 'every island: no h100 GPUs (GPU models here: none)');
  });
});

describe('placeJob: per-node fit, now and ever', () => {
  it('2 nodes x 4 CPUs need two DIFFERENT nodes with 4 free each, not 8 free CPUs in total', () => {
    const busy = island('a', [node('a1', { cpusFree: 12 }), node('a2', { cpusFree: 2 })]);
    const free = island('b', [node('b1', { cpusFree: 4 }), node('b2', { cpusFree: 4 })], { pricePerCoreHour: 0.5 });
    const d = place({ nodes: { min: 2 }, ntasksPerNode: 4 }, snap(busy, free));
    assert.equal(d.status, 'start-now');
    assert.equal(d.island, 'b');
    assert.deepEqual(d.nodes, ['b1', 'b2']);
    const a = d.candidates.find((c) => c.island === 'a')!;
    assert.deepEqual([a.breakdown!.fitsNow, a.breakdown!.nodesFitNow, a.breakdown!.nodesEver], [false, 1, 2]);
  });

  it('a job that fits nowhere now queues where it could run, with a later expected start', () => {
    const d = place({ ntasks: 1, cpusPerTask: 8 }, snap(island('a', nodes('a', 2, { cpusFree: 4, state: 'mixed' }))));
    assert.equal(d.status, 'queued');
    assert.equal(d.island, 'a');
    assert.deepEqual(d.nodes, []);
    assert.ok(d.expectedStartMinutes! >= 60);
  });

  it('queue depth delays the expected start and moves the job', () => {
    const a = island('a', nodes('a', 2), { queue: { pendingJobs: 50, pendingCpuSeconds: 32 * 3600 * 10 } });
    const b = island('b', nodes('b', 2));
    const d = place({}, snap(a, b));
    assert.equal(d.island, 'b');
    const ca = d.candidates.find((c) => c.island === 'a')!;
    assert.ok(ca.breakdown!.expectedStartMinutes > 0);
  });

  it('whole-node memory and --exclusive need entirely free nodes', () => {
    const s = snap(island('a', [node('a1', { cpusFree: 15 }), node('a2')]));
    assert.deepEqual(place({ exclusive: 'exclusive' }, s).nodes, ['a2']);
    assert.deepEqual(place({ memPerNodeMb: 0 }, s).nodes, ['a1'], 'a1 has all its memory free');
  });

  it('does not modify the snapshot', () => {
    const s = snap(island('a', nodes('a', 1)));
    const before = JSON.stringify(s);
    place({ cpusPerTask: 16 }, s);
    placeMany([{ id: 'x', demand: deriveDemand({ cpusPerTask: 16 }) }], s);
    assert.equal(JSON.stringify(s), before);
  });
});

describe('placeJob: tiers, GPUs, features', () => {
  it('a multi-node job never spans islands and takes the tight tier', () => {
    const tight1 = island(
      't1',
      nodes('t1', 4, { cpusFree: 0, state: 'allocated' }).map((n, i) => (i < 2 ? { ...n, cpusFree: 16, state: 'idle' as const } : n)),
    );
    const tight2 = island(
      't2',
      nodes('t2', 4, { cpusFree: 0, state: 'allocated' }).map((n, i) => (i < 2 ? { ...n, cpusFree: 16, state: 'idle' as const } : n)),
    );
    const loose = island('l', nodes('l', 8), { tier: 'loose', boundMs: 30, pricePerCoreHour: 0.01 });
    const s = snap(tight1, tight2, loose);
    const d = place({ nodes: { min: 3 } }, s);
    // 4 free nodes in total across t1 and t2, but at most 2 per island: it queues on one of them.
    assert.equal(d.status, 'queued');
    assert.ok(d.island === 't1' || d.island === 't2');
    assert.match(d.candidates.find((c) => c.island === 'l')!.rejected!, /too loose/);
    // The user accepts loose islands: it starts now on l, all nodes on l.
    const relaxed = place({ nodes: { min: 3 } }, s, { maxIslandLatencyMs: 30 });
    assert.equal(relaxed.status, 'start-now');
    assert.equal(relaxed.island, 'l');
    assert.ok(relaxed.nodes.every((n) => n.startsWith('l-')));
    // Single-node jobs may use any tier.
    assert.equal(place({}, s).island, 'l');
  });

  it('matches the GPU model, or any model when none is asked', () => {
    const a100 = island('a', nodes('a', 2, { gpus: [{ model: 'a100', total: 4, free: 4 }] }), { pricePerCoreHour: 0.5 });
    const v100 = island('v', nodes('v', 2, { gpus: [{ model: 'v100', total: 4, free: 4 }] }));
    const s = snap(a100, v100);
    assert.equal(place({ gres: 'gpu:a100:2' }, s).island, 'a');
    assert.equal(place({ gpusPerNode: 'v100:4' }, s).island, 'v');
    assert.equal(place({ gpus: '2' }, s).island, 'v', 'cheaper, any model');
    // A node's GPUs in use count: 3 of 4 a100 busy → 2 a100 do not fit now.
    const busy = snap(island('a', [node('a1', { gpus: [{ model: 'a100', total: 4, free: 1 }] })]));
    assert.equal(place({ gres: 'gpu:a100:2' }, busy).status, 'queued');
  });

  it('plain CPU jobs use nodes without GPUs first', () => {
    const s = snap(island('a', [node('gpu1', { gpus: [{ model: 'a100', total: 4, free: 4 }] }), node('cpu1')]));
    assert.deepEqual(place({}, s).nodes, ['cpu1']);
  });

  it('features: AND, OR, and a matching OR puts every node on the same feature', () => {
    const isl = island('a', [node('a1', { features: ['ib', 'rack1'] }), node('a2', { features: ['ib', 'rack2'] }), node('a3', { features: ['rack2'] })]);
    const s = snap(isl);
    assert.deepEqual(place({ nodes: { min: 2 }, constraint: 'ib' }, s).nodes, ['a1', 'a2']);
    assert.deepEqual(place({ constraint: 'rack2&ib' }, s).nodes, ['a2']);
    assert.deepEqual(place({ nodes: { min: 2 }, constraint: 'rack1|rack2' }, s).nodes.length, 2);
    assert.deepEqual(place({ nodes: { min: 2 }, constraint: '[rack1|rack2]' }, s).nodes.sort(), ['a2', 'a3']);
    assert.match(
      rejection({ nodes: { min: 2 }, constraint: 'ib&[rack1|rack2]' }, isl),
      /only 1 node\(s\) can hold .* with the same one of \[rack1\|rack2\]; the job needs 2/,
    );
  });
});

describe('placeJob: scores and explanation', () => {
  it('is deterministic whatever the island order, ties broken by name', () => {
    const islands = ['c', 'a', 'b'].map((n) => island(n, nodes(n, 2)));
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ]) {
      const d = place({}, snap(...order.map((i) => islands[i])));
      assert.equal(d.island, 'a');
      assert.deepEqual(
        d.candidates.map((c) => c.island),
        ['a', 'b', 'c'],
      );
    }
  });

  it('prefers cheaper, then faster islands when both start now, and explains each candidate', () => {
    const s = snap(
      island('cheap', nodes('c', 2), { pricePerCoreHour: 0.02 }),
      island('fast', nodes('f', 2), { benchmarkScore: 2000 }),
      island('far', nodes('r', 2), { regions: ['us-east'] }),
    );
    const d = place({}, s, { regions: ['eu-west'] });
    assert.deepEqual(
      d.candidates.map((c) => [c.island, c.score !== null]),
      [
        ['cheap', true],
        ['fast', true],
        ['far', false],
      ],
    );
    assert.equal(d.island, 'cheap');
    const b = d.candidates[0].breakdown!;
    assert.deepEqual([b.price, b.performance, b.fitsNow, b.start], [1, 0.5, true, 1]);
    const text = formatExplanation(d);
    assert.match(text, /^start-now on cheap\/batch/);
    assert.match(text, /far: rejected: region us-east is not one of the requested eu-west/);
  });
});

describe('placeArray', () => {
  const arraySpec = (n: number, maxRunning?: number): JobSpec => ({
    cpusPerTask: 4,
    array: { expression: `0-${n - 1}`, taskIds: Array.from({ length: n }, (_, i) => i), ...(maxRunning ? { maxRunning } : {}) },
  });

  it('keeps an array on one island when it fits there now', () => {
    const d = placeArray(deriveDemand(arraySpec(8)), {}, snap(island('a', nodes('a', 2)), island('b', nodes('b', 2))));
    assert.equal(d.parts.length, 1);
    assert.deepEqual([d.parts[0].island, d.parts[0].expression, d.parts[0].startNow], ['a', '0-7', 8]);
  });

  it("splits an array larger than one island's free capacity, as contiguous task ranges", () => {
    // a: 2 nodes x 16 CPUs = 8 tasks of 4 CPUs; b: 1 node = 4 tasks. 15 tasks.
    const s = snap(island('a', nodes('a', 2)), island('b', nodes('b', 1)));
    const d = placeArray(deriveDemand(arraySpec(15)), {}, s);
    assert.equal(d.status, 'start-now');
    assert.deepEqual(
      d.parts.map((p) => [p.island, p.expression, p.startNow, p.nodes.length]),
      [
        ['a', '0-9', 8, 8],
        ['b', '10-14', 4, 4],
      ],
    );
    assert.deepEqual(
      d.parts.flatMap((p) => p.taskIds),
      Array.from({ length: 15 }, (_, i) => i),
    );
  });

  it('splits a throttle: the parts together run at most %N', () => {
    const s = snap(island('a', nodes('a', 1)), island('b', nodes('b', 1)));
    const d = placeArray(deriveDemand(arraySpec(20, 6)), {}, s);
    assert.deepEqual(
      d.parts.map((p) => [p.island, p.expression, p.maxRunning]),
      [
        ['a', '0-12%4', 4],
        ['b', '13-19%2', 2],
      ],
    );
    const one = placeArray(deriveDemand(arraySpec(20, 3)), {}, s);
    assert.deepEqual(
      one.parts.map((p) => p.expression),
      ['0-19%3'],
    );
  });

  it('queues a whole array where it fits later when nothing is free now', () => {
    const d = placeArray(deriveDemand(arraySpec(5)), {}, snap(island('a', nodes('a', 1, { cpusFree: 0, state: 'allocated' }))));
    assert.equal(d.status, 'queued');
    assert.deepEqual(
      d.parts.map((p) => [p.island, p.expression, p.startNow]),
      [['a', '0-4', 0]],
    );
  });

  it('renders task id ranges', () => {
    assert.equal(renderTaskIds([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-10');
    assert.equal(renderTaskIds([]), '');
  });
});

describe('placeMany', () => {
  it('reserves as it goes: jobs spread over islands and no node is over-committed', () => {
    const s = snap(island('a', nodes('a', 5)), island('b', nodes('b', 5)), island('c', nodes('c', 5), { tier: 'loose', boundMs: 30 }));
    const jobs = Array.from({ length: 15 }, (_, i) => ({ id: `j${i}`, demand: deriveDemand({ cpusPerTask: 16 }) }));
    const { decisions, stats } = placeMany(jobs, s);
    assert.deepEqual([stats.startNow, stats.queued, stats.unplaceable], [15, 0, 0]);
    const used = decisions.flatMap((d) => (d.kind === 'job' ? d.nodes : []));
    assert.equal(new Set(used).size, 15, 'every whole-node job on its own node');
    const perIsland = new Map<string, number>();
    for (const d of decisions) if (d.kind === 'job') perIsland.set(d.island!, (perIsland.get(d.island!) ?? 0) + 1);
    assert.deepEqual([...perIsland.values()], [5, 5, 5]);
    // One more queues, spread by queue depth rather than all on one island.
    const more = Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, demand: deriveDemand({ cpusPerTask: 16, timeLimitMinutes: 600 }) }));
    const queued = placeMany([...jobs, ...more], s).decisions.slice(15);
    assert.ok(queued.every((d) => d.status === 'queued'));
    assert.ok(new Set(queued.map((d) => (d.kind === 'job' ? d.island : null))).size > 1, JSON.stringify(queued.map((d) => d.kind === 'job' && d.island)));
  });

  it('is deterministic and handles arrays and unplaceable jobs in one batch', () => {
    const s = snap(island('a', nodes('a', 2)), island('b', nodes('b', 2, { gpus: [{ model: 'a100', total: 2, free: 2 }] })));
    const jobs = [
      { id: 'gpu', demand: deriveDemand({ gres: 'gpu:a100:2' }) },
      { id: 'arr', demand: deriveDemand({ cpusPerTask: 8, array: { expression: '0-9', taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } }) },
      { id: 'mpi', demand: deriveDemand({ nodes: { min: 2 }, ntasksPerNode: 16 }) },
      { id: 'h100', demand: deriveDemand({ gres: 'gpu:h100:1' }) },
    ];
    const first = placeMany(jobs, s);
    assert.deepEqual(first, placeMany(jobs, s));
    assert.deepEqual(
      first.decisions.map((d) => [d.id, d.status]),
      [
        ['gpu', 'start-now'],
        ['arr', 'start-now'],
        ['mpi', 'queued'],
        ['h100', 'unplaceable'],
      ],
    );
    const arr = first.decisions[1];
    assert.ok(arr.kind === 'array');
    assert.equal(
      arr.parts.reduce((a, p) => a + p.startNow, 0),
      7,
      "2x16 + 2x16 CPUs minus the GPU job's CPU hold 7 tasks of 8 CPUs",
    );
    assert.equal(first.stats.shapes, 4);
  });

  it('a Placer keeps reserving across calls', () => {
    const placer = new Placer(snap(island('a', nodes('a', 1))));
    assert.equal(placer.place(deriveDemand({ cpusPerTask: 16 })).status, 'start-now');
    assert.equal(placer.place(deriveDemand({ cpusPerTask: 16 })).status, 'queued');
  });
});

describe('pruning', () => {
  it('the score bounds that skip islands never change a decision', () => {
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const islands = Array.from({ length: 40 }, (_, i) => {
      const ns = Array.from({ length: 12 }, (_, n) => {
        const cpus = pick([16, 32, 64]);
        const used = pick([0, 0.5, 1, 1]);
        return node(`i${i}-n${n}`, {
          cpus,
          cpusFree: Math.round(cpus * (1 - used)),
          memoryMb: cpus * 4000,
          memoryFreeMb: Math.round(cpus * 4000 * (1 - used)),
          gpus: n % 4 === 0 ? [{ model: pick(['a100', 'v100']), total: 4, free: used === 1 ? 0 : 4 }] : [],
          features: rnd() < 0.5 ? ['ib'] : [],
        });
      });
      const tight = rnd() < 0.5;
      return island(`isl${String(i).padStart(2, '0')}`, ns, {
        tier: tight ? 'tight' : 'loose',
        boundMs: tight ? 2 : 30,
        pricePerCoreHour: pick([0.02, 0.05, 0.1]),
        benchmarkScore: pick([800, 1000, 1200]),
        queue: { pendingJobs: 0, pendingCpuSeconds: Math.floor(rnd() * 1e6) },
      });
    });
    const specs: JobSpec[] = Array.from({ length: 1500 }, () => {
      const r = rnd();
      if (r < 0.6) return { cpusPerTask: pick([1, 4, 16, 32]), memPerCpuMb: 2000, timeLimitMinutes: pick([10, 100]) };
      if (r < 0.8) return { nodes: { min: pick([2, 4]) }, ntasksPerNode: 8, ...(rnd() < 0.5 ? { constraint: 'ib' } : {}) };
      if (r < 0.9) return { gres: `gpu:${pick(['a100', 'v100'])}:2` };
      const n = pick([5, 50, 300]);
      return { cpusPerTask: 2, array: { expression: `0-${n - 1}`, taskIds: Array.from({ length: n }, (_, k) => k) } };
    });
    const run = (prune: boolean) => {
      const placer = new Placer(snap(...islands), { explain: false });
      if (!prune) {
        // Disable both bounds the search prunes with (they live on the Placer's IslandScorer).
        const scorer = (placer as unknown as { scorer: { upperBound: unknown; maxDynamicScore: unknown } }).scorer;
        assert.equal(typeof scorer.upperBound, 'function', 'the upper bound this test disables exists');
        assert.equal(typeof scorer.maxDynamicScore, 'number', 'the static-order cut-off this test disables exists');
        scorer.upperBound = () => Infinity;
        scorer.maxDynamicScore = Infinity;
      }
      return specs.map((spec) => {
        const demand = deriveDemand(spec);
        return demand.array ? placer.placeArray(demand, {}, false) : placer.place(demand, {}, false);
      });
    };
    const pruned = run(true);
    assert.deepEqual(pruned, run(false));
    assert.ok(pruned.some((d) => d.status === 'queued') && pruned.some((d) => d.status === 'start-now'));
  });
});
