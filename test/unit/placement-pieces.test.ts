/**
 * The pieces placement is built from, each on its own: partition choice, the hard filters' two
 * paths, per-node fit and reservations, the score and its bound, the array split. The behaviour of
 * the whole is in placement-place.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { arrayPart, shareTasks, tasksFittingNow } from '../../src/core/placement/array-split';
import { bestCandidate, evaluateCandidate } from '../../src/core/placement/candidate-ranking';
import type { IslandCapacity } from '../../src/core/placement/capacity';
import { ShapeCatalog } from '../../src/core/placement/demand-shapes';
import { hardFiltersFor, passesTimeIndependentFilters, rejectionReason } from '../../src/core/placement/hard-filters';
import { deriveDemand } from '../../src/core/placement/job-demand';
import { countNodesFittingNow, nodeFitsNow, perNodeDemandOf } from '../../src/core/placement/node-fit';
import { firstFittingPartition, whyNoPartitionFits } from '../../src/core/placement/partition-choice';
import { PlacementIndex } from '../../src/core/placement/placement-index';
import { resolveOptions, type UserConstraints } from '../../src/core/placement/placement-options';
import { formatMinutes } from '../../src/core/placement/reason-text';
import { packSingleNodeTasks, queueJobs, reserveNodes } from '../../src/core/placement/reservations';
import { IslandScorer } from '../../src/core/placement/score';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import { island, node, nodes, snap } from '../support/capacity-fixtures';

/** The placement view of one island (index 0). */
const viewOf = (capacity: IslandCapacity) => new PlacementIndex(snap(capacity)).islands[0];

/** Deterministic pseudo-random numbers for the property tests. */
function seededRandom(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return { next, pick: <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] };
}

describe('partition choice', () => {
  it('tries the Default=YES partition first, then the others in order', () => {
    const view = viewOf(
      island('a', nodes('a', 1), {
        partitions: [
          { name: 'short', maxTimeMinutes: 60, maxNodes: null },
          { name: 'main', maxTimeMinutes: 600, maxNodes: null, isDefault: true },
        ],
      }),
    );
    assert.equal(firstFittingPartition(view, deriveDemand({ timeLimitMinutes: 30 })), 'main');
    assert.equal(firstFittingPartition(view, deriveDemand({ timeLimitMinutes: 6000 })), null);
  });

  it('a named partition must exist and admit the job; no other is tried', () => {
    const view = viewOf(island('a', nodes('a', 4)));
    assert.equal(firstFittingPartition(view, deriveDemand({ partition: 'debug' })), 'debug');
    const tooLong = deriveDemand({ partition: 'debug', timeLimitMinutes: 60 });
    assert.equal(firstFittingPartition(view, tooLong), null);
    assert.equal(whyNoPartitionFits(view, tooLong), "time limit 01:00:00 exceeds partition debug's MaxTime 00:30:00");
    assert.equal(whyNoPartitionFits(view, deriveDemand({ partition: 'gpu' })), 'no partition gpu (partitions here: batch, debug)');
  });

  it('a job without --time fits any MaxTime; without a partition name every problem is listed', () => {
    const view = viewOf(island('a', nodes('a', 4)));
    assert.equal(firstFittingPartition(view, deriveDemand({})), 'batch');
    const unlimited = deriveDemand({ timeLimitMinutes: null });
    assert.equal(firstFittingPartition(view, unlimited), null);
    assert.equal(
      whyNoPartitionFits(view, unlimited),
      "no partition fits: time limit UNLIMITED exceeds partition batch's MaxTime 2-00:00:00; time limit UNLIMITED exceeds partition debug's MaxTime 00:30:00",
    );
    assert.equal(whyNoPartitionFits(viewOf(island('b', nodes('b', 1), { partitions: [] })), deriveDemand({})), 'no partitions');
  });

  it('formats minutes as SLURM time limits', () => {
    assert.deepEqual([0, 30, 61, 1440, 2880 + 75].map(formatMinutes), ['00:00:00', '00:30:00', '01:01:00', '1-00:00:00', '2-01:15:00']);
    assert.equal(formatMinutes(null), 'UNLIMITED');
  });
});

describe('hard filters', () => {
  it('the first failing filter gives the reason, in the documented order', () => {
    const view = viewOf(island('a', nodes('a', 1), { regions: ['us-east'], pricePerCoreHour: 1 }));
    const demand = deriveDemand({});
    const filters = hardFiltersFor(demand, { regions: ['eu-west'], maxPricePerCoreHour: 0.1 }, 2, 0);
    assert.equal(passesTimeIndependentFilters(view, filters, demand, perNodeDemandOf(demand)), null);
    assert.equal(rejectionReason(view, filters, demand, perNodeDemandOf(demand)), 'region us-east is not one of the requested eu-west');
  });

  it('a multi-node job needs the tight tier unless the user accepts a looser bound', () => {
    const loose = viewOf(island('l', nodes('l', 4), { tier: 'loose', boundMs: 30 }));
    const demand = deriveDemand({ nodes: { min: 2 } });
    const perNode = perNodeDemandOf(demand);
    assert.equal(passesTimeIndependentFilters(loose, hardFiltersFor(demand, {}, 2, 0), demand, perNode), null);
    assert.notEqual(passesTimeIndependentFilters(loose, hardFiltersFor(demand, { maxIslandLatencyMs: 30 }, 2, 0), demand, perNode), null);
  });

  it('the fast path and the explained path agree on every island (random islands, demands, constraints)', () => {
    const random = seededRandom(5);
    const islands = Array.from({ length: 30 }, (_, i) =>
      island(
        `i${i}`,
        Array.from({ length: 1 + Math.floor(random.next() * 5) }, (_, n) =>
          node(`i${i}-n${n}`, {
            cpus: random.pick([8, 16, 64]),
            memoryMb: random.pick([16000, 64000, 256000]),
            gpus: random.next() < 0.3 ? [{ model: random.pick(['a100', 'v100', '']), total: random.pick([1, 4]), free: 0 }] : [],
            features: random.next() < 0.5 ? ['ib'] : random.next() < 0.5 ? ['avx512'] : [],
            state: random.pick(['idle', 'idle', 'mixed', 'drain'] as const),
          }),
        ),
        {
          tier: random.pick(['tight', 'loose']),
          boundMs: random.pick([2, 30]),
          regions: [random.pick(['eu', 'us'])],
          providers: [random.pick(['p1', 'p2'])],
          performanceClass: random.pick(['standard', 'hpc']),
          pricePerCoreHour: random.pick([0.01, 0.1]),
        },
      ),
    );
    const index = new PlacementIndex(snap(...islands));
    const specs: JobSpec[] = [
      {},
      { nodes: { min: 2 } },
      { nodes: { min: 3 }, constraint: '[ib|avx512]' },
      { cpusPerTask: 32 },
      { memPerNodeMb: 100000 },
      { cpusPerTask: 32, memPerNodeMb: 100000 },
      { gres: 'gpu:a100:2' },
      { gpusPerNode: '4' },
      { constraint: 'ib&avx512' },
      { partition: 'debug', timeLimitMinutes: 60 },
      { exclusive: 'exclusive', memPerNodeMb: 0 },
      { timeLimitMinutes: null },
    ];
    const constraintSets: UserConstraints[] = [
      {},
      { regions: ['eu'] },
      { providers: ['p2'], maxPricePerCoreHour: 0.05 },
      { performanceClasses: ['hpc'] },
      { excludeIslands: ['i1'] },
      { islands: ['i2', 'i3'] },
      { maxIslandLatencyMs: 30 },
    ];
    let passed = 0;
    specs.forEach((spec, slot) => {
      const demand = deriveDemand(spec);
      const perNode = perNodeDemandOf(demand);
      for (const constraints of constraintSets) {
        const filters = hardFiltersFor(demand, constraints, 2, slot);
        for (const view of index.islands) {
          const eligibility = passesTimeIndependentFilters(view, filters, demand, perNode);
          const reason = rejectionReason(view, filters, demand, perNode);
          const passesAll = eligibility !== null && firstFittingPartition(view, demand) !== null;
          assert.equal(reason === null, passesAll, `${view.name} ${JSON.stringify(spec)} ${JSON.stringify(constraints)}: ${reason}`);
          if (passesAll) passed++;
        }
      }
    });
    assert.ok(passed > 0, 'some islands pass');
  });
});

describe('per-node fit and reservations', () => {
  it('an exclusive job needs a node with nothing in use, GPUs included', () => {
    const view = viewOf(
      island('a', [node('a1', { gpus: [{ model: 'a100', total: 4, free: 3 }] }), node('a2', { gpus: [{ model: 'a100', total: 4, free: 4 }] })]),
    );
    const exclusive = perNodeDemandOf(deriveDemand({ exclusive: 'exclusive' }));
    const nodeClass = view.classes[0];
    assert.deepEqual(
      [0, 1].map((position) => nodeFitsNow(nodeClass, position, -1, exclusive)),
      [false, true],
    );
  });

  it('a scan that finds too few nodes makes the class maxima exact, so the next check needs no scan', () => {
    const view = viewOf(island('a', nodes('a', 2)));
    const nodeClass = view.classes[0];
    const whole = perNodeDemandOf(deriveDemand({ cpusPerTask: 16 }));
    reserveNodes(view, [{ nodeClass, gpuModel: -1 }], perNodeDemandOf(deriveDemand({ cpusPerTask: 10 })), 2);
    assert.equal(nodeClass.maxCpusFree, 16, 'a reservation leaves the bound stale (it is only an upper bound)');
    assert.equal(countNodesFittingNow(nodeClass, -1, whole, 1), 0);
    assert.equal(nodeClass.maxCpusFree, 6);
  });

  it('GPUs of any model come from all pools of the node', () => {
    const view = viewOf(
      island('a', [
        node('a1', {
          gpus: [
            { model: 'a100', total: 1, free: 1 },
            { model: 'v100', total: 2, free: 2 },
          ],
        }),
      ]),
    );
    const nodeClass = view.classes[0];
    const versionBefore = view.version;
    assert.deepEqual(reserveNodes(view, [{ nodeClass, gpuModel: -1 }], perNodeDemandOf(deriveDemand({ gpus: '3' })), 1), ['a1']);
    assert.deepEqual(
      nodeClass.gpuFree.map((pool) => pool[0]),
      [0, 0],
    );
    assert.equal(view.version, versionBefore + 1);
    assert.throws(() => reserveNodes(view, [{ nodeClass, gpuModel: -1 }], perNodeDemandOf(deriveDemand({ gpus: '1' })), 1), /internal: a was evaluated to fit/);
  });

  it('single-node tasks are packed several per node, first fit, and the cursor skips full nodes', () => {
    const view = viewOf(island('a', nodes('a', 3)));
    const nodeClass = view.classes[0];
    const names: string[] = [];
    const placed = packSingleNodeTasks(view, [{ nodeClass, gpuModel: -1 }], perNodeDemandOf(deriveDemand({ cpusPerTask: 4 })), 10, names);
    assert.equal(placed, 10);
    assert.deepEqual(names, [...Array(4).fill('a-n0'), ...Array(4).fill('a-n1'), 'a-n2', 'a-n2']);
    assert.equal(view.freeCpus, 48 - 40);
    assert.equal(nodeClass.cursor, 2);
  });

  it('a queued job adds its CPU-seconds to the island queue', () => {
    const view = viewOf(island('a', nodes('a', 4)));
    queueJobs(view, deriveDemand({ nodes: { min: 2 }, ntasksPerNode: 8, timeLimitMinutes: 30 }), 3);
    assert.deepEqual([view.pendingJobs, view.pendingCpuSeconds, view.version], [3, 3 * 8 * 2 * 30 * 60, 1]);
  });
});

describe('score', () => {
  const scenario = () => {
    const index = new PlacementIndex(
      snap(
        island('busy', nodes('b', 2, { cpusFree: 8, state: 'mixed' }), { queue: { pendingJobs: 1, pendingCpuSeconds: 32 * 3600 } }),
        island('cheap', nodes('c', 2), { pricePerCoreHour: 0.01 }),
        island('fast', nodes('f', 2), { benchmarkScore: 3000 }),
      ),
    );
    const scorer = new IslandScorer(index, resolveOptions({}));
    return { index, scorer, shapes: new ShapeCatalog(index.islands, scorer.staticScores, 2) };
  };

  it('the breakdown is the score itemized, and the expected start follows the queue drain', () => {
    const { scorer, shapes } = scenario();
    const shape = shapes.shapeFor(deriveDemand({ cpusPerTask: 16 }), {});
    shape.candidates.forEach((_, candidate) => evaluateCandidate(shape, candidate, scorer));
    const busy = 0;
    assert.equal(shape.candidates[busy].name, 'busy');
    const breakdown = scorer.breakdown(shape, busy);
    assert.equal(breakdown.total, shape.scores[busy]);
    // 32 CPU-hours pending over 32 usable CPUs: a 60-minute drain, plus 60 minutes for the node not free now.
    assert.deepEqual([breakdown.fitsNow, breakdown.nodesFitNow, breakdown.expectedStartMinutes], [false, 0, 120]);
    const cheap = scorer.breakdown(shape, 1);
    assert.deepEqual([cheap.fitsNow, cheap.expectedStartMinutes, cheap.start, cheap.price], [true, 0, 1, 1]);
    assert.equal(scorer.expectedStartMinutes(shape, busy), 120);
  });

  it('the upper bound and the static cut-off are never below a score (what makes the pruning exact)', () => {
    const { scorer, shapes } = scenario();
    const specs: JobSpec[] = [{}, { cpusPerTask: 8 }, { cpusPerTask: 16 }, { nodes: { min: 2 }, ntasksPerNode: 4 }, { exclusive: 'exclusive' }];
    const fitsSeen = new Set<number>();
    for (let round = 0; round < 6; round++) {
      for (const spec of specs) {
        const shape = shapes.shapeFor(deriveDemand(spec), {});
        shape.candidates.forEach((view, candidate) => {
          evaluateCandidate(shape, candidate, scorer);
          const score = shape.scores[candidate];
          fitsSeen.add(shape.fitsNow[candidate]);
          assert.ok(scorer.upperBound(view, shape.perNode.cpus * shape.nodesPerJob) >= score - 1e-9, `${view.name} ${JSON.stringify(spec)}`);
          assert.ok(scorer.staticScores[view.index] + scorer.maxDynamicScore >= score - 1e-9);
        });
        const best = bestCandidate(shape, scorer);
        const top = Math.max(...shape.scores);
        assert.equal(best, shape.scores.indexOf(top), 'the pruned search finds the highest score, lowest index first');
        if (shape.fitsNow[best])
          reserveNodes(shape.candidates[best], shape.eligibleClasses[best][shape.fittingAlternative[best]], shape.perNode, shape.nodesPerJob);
      }
    }
    assert.deepEqual([...fitsSeen].sort(), [0, 1], 'the rounds saw islands where jobs fit now and islands where they wait');
  });

  it('refuses weights that would invert the ranking', () => {
    assert.throws(() => resolveOptions({ weights: { price: -1 } }), /score weight price must be a finite number >= 0, got -1/);
    assert.throws(() => resolveOptions({ weights: { start: Number.NaN } }), /score weight start/);
  });

  it('shapes: the same demand with equal constraints in another order is one shape', () => {
    const { shapes } = scenario();
    const first = shapes.shapeFor(deriveDemand({ cpusPerTask: 2 }), { regions: ['eu-west', 'us-east'] });
    assert.equal(shapes.shapeFor(deriveDemand({ cpusPerTask: 2 }), { regions: ['us-east', 'eu-west'] }), first);
    assert.notEqual(shapes.shapeFor(deriveDemand({ cpusPerTask: 4 }), { regions: ['eu-west'] }), first);
    assert.equal(shapes.size, 2);
  });
});

describe('array split', () => {
  it('shares tasks in proportion to what each island starts, by largest remainder, ties to the earlier part', () => {
    assert.deepEqual(shareTasks(15, [8, 4]), [10, 5]);
    assert.deepEqual(shareTasks(20, [4, 2]), [13, 7]);
    assert.deepEqual(shareTasks(3, [1, 1]), [2, 1]);
    const random = seededRandom(9);
    for (let trial = 0; trial < 200; trial++) {
      const started = Array.from({ length: 1 + Math.floor(random.next() * 5) }, () => 1 + Math.floor(random.next() * 50));
      const total = started.reduce((sum, count) => sum + count, 0) + Math.floor(random.next() * 500);
      const counts = shareTasks(total, started);
      assert.equal(
        counts.reduce((sum, count) => sum + count, 0),
        total,
      );
      counts.forEach((count, part) => assert.ok(Math.abs(count - (total * started[part]) / started.reduce((a, b) => a + b, 0)) < 1));
    }
  });

  it('counts the tasks that start now: shared nodes per task, or whole nodes per multi-node task', () => {
    const index = new PlacementIndex(snap(island('a', [node('a1'), node('a2', { cpusFree: 6, state: 'mixed' }), node('a3')])));
    const scorer = new IslandScorer(index, resolveOptions({}));
    const shapes = new ShapeCatalog(index.islands, scorer.staticScores, 2);
    const small = shapes.shapeFor(deriveDemand({ cpusPerTask: 4 }), {});
    evaluateCandidate(small, 0, scorer);
    assert.equal(tasksFittingNow(small, 0, 100), 4 + 1 + 4);
    assert.equal(tasksFittingNow(small, 0, 5), 5, 'counted up to the limit');
    const pairs = shapes.shapeFor(deriveDemand({ nodes: { min: 2 }, ntasksPerNode: 8 }), {});
    evaluateCandidate(pairs, 0, scorer);
    assert.equal(tasksFittingNow(pairs, 0, 100), 1, 'two nodes hold 8 CPUs: one 2-node task');
  });

  it('a part carries its --array expression, throttled by what it starts now', () => {
    const part = arrayPart({ island: 'a', partition: 'batch', taskIds: [0, 1, 2, 5], maxRunning: 2, startNow: 2, score: 1.5, nodes: ['n1', 'n2'] });
    assert.equal(part.expression, '0-2,5%2');
    assert.equal(arrayPart({ ...part, maxRunning: null }).expression, '0-2,5');
  });
});
