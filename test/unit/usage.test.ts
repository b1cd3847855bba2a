import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { toAccountingRun, type SlurmDbJob } from '../../src/adapters/slurm/slurmdb-job-record';
import { expandHostlist } from '../../src/core/usage/hostlist';
import { apportion, splitEvenly } from '../../src/core/usage/largest-remainder';
import { computeUsage, decimal } from '../../src/core/usage/usage-metrics';
import { DEFAULT_REWARD_SHARES, splitRewards, type Contribution } from '../../src/core/usage/rewards';
import { costOf, parsePrice, type OfferingPrices } from '../../src/core/usage/pricing';
import { estimateJobCost } from '../../src/core/usage/cost-estimate';
import { buildUsageRecord, epochOf } from '../../src/core/usage/usage-record';
import { usageSignerFromPem, verifyUsageSignature } from '../../src/core/usage/signer';

/**
 * Records captured from a real ACCOUNTING=1 island (acct-a, 2 nodes × 4 CPUs), trimmed to the
 * fields accounting uses: GET /slurmdb/v0.0.38/job/<id>.
 */
const MULTI_NODE: SlurmDbJob = {
  job_id: 2,
  array: { job_id: 0, task_id: null },
  comment: { job: null },
  state: { current: 'COMPLETED' },
  time: { submission: 1795623109, start: 1795623109, end: 1795623111, elapsed: 2 },
  nodes: 'acct-a-n[1-2]',
  tres: {
    allocated: [
      { type: 'cpu', name: null, count: 3 },
      { type: 'mem', name: null, count: 300 },
      { type: 'node', name: null, count: 2 },
      { type: 'billing', name: null, count: 3 },
    ],
  },
  steps: [
    {
      step: { id: 'batch' },
      nodes: { list: ['acct-a-n1'] },
      time: { elapsed: 2 },
      tres: {
        allocated: [
          { type: 'cpu', name: null, count: 2 },
          { type: 'mem', name: null, count: 200 },
          { type: 'node', name: null, count: 1 },
        ],
      },
    },
    {
      step: { id: 0 },
      nodes: { list: ['acct-a-n1', 'acct-a-n2'] },
      time: { elapsed: 0 },
      tres: {
        allocated: [
          { type: 'cpu', name: null, count: 3 },
          { type: 'mem', name: null, count: 300 },
          { type: 'node', name: null, count: 2 },
        ],
      },
    },
  ],
};
const ARRAY_TASK_2: SlurmDbJob = {
  job_id: 3,
  array: { job_id: 3, task_id: 2 },
  comment: { job: null },
  state: { current: 'COMPLETED' },
  time: { submission: 1795623109, start: 1795623109, end: 1795623110, elapsed: 1 },
  nodes: 'acct-a-n2',
  tres: {
    allocated: [
      { type: 'cpu', name: null, count: 2 },
      { type: 'mem', name: null, count: 512 },
      { type: 'energy', name: null, count: null },
      { type: 'node', name: null, count: 1 },
      { type: 'billing', name: null, count: 2 },
    ],
  },
  steps: [
    {
      step: { id: 'batch' },
      nodes: { list: ['acct-a-n2'] },
      time: { elapsed: 1 },
      tres: {
        allocated: [
          { type: 'cpu', name: null, count: 2 },
          { type: 'mem', name: null, count: 512 },
          { type: 'node', name: null, count: 1 },
        ],
      },
    },
  ],
};
const ARRAY_TASK_1: SlurmDbJob = {
  job_id: 5,
  array: { job_id: 3, task_id: 1 },
  comment: { job: null },
  state: { current: 'COMPLETED' },
  time: { submission: 1795623109, start: 1795623109, end: 1795623110, elapsed: 1 },
  nodes: 'acct-a-n1',
  tres: {
    allocated: [
      { type: 'cpu', name: null, count: 2 },
      { type: 'mem', name: null, count: 512 },
      { type: 'energy', name: null, count: null },
      { type: 'node', name: null, count: 1 },
      { type: 'billing', name: null, count: 2 },
    ],
  },
  steps: [
    {
      step: { id: 'batch' },
      nodes: { list: ['acct-a-n1'] },
      time: { elapsed: 1 },
      tres: {
        allocated: [
          { type: 'cpu', name: null, count: 2 },
          { type: 'mem', name: null, count: 512 },
          { type: 'node', name: null, count: 1 },
        ],
      },
    },
  ],
};
const REQUEUED_RUN: SlurmDbJob = {
  job_id: 4,
  array: { job_id: 0, task_id: null },
  comment: { job: null },
  state: { current: 'REQUEUED' },
  time: { submission: 1795623109, start: 1795623109, end: 1795623110, elapsed: 1 },
  nodes: 'acct-a-n2',
  tres: {
    allocated: [
      { type: 'cpu', name: null, count: 1 },
      { type: 'mem', name: null, count: 256 },
      { type: 'energy', name: null, count: null },
      { type: 'node', name: null, count: 1 },
      { type: 'billing', name: null, count: 1 },
    ],
  },
  steps: [
    {
      step: { id: 'batch' },
      nodes: { list: ['acct-a-n2'] },
      time: { elapsed: 1 },
      tres: {
        allocated: [
          { type: 'cpu', name: null, count: 1 },
          { type: 'mem', name: null, count: 256 },
          { type: 'node', name: null, count: 1 },
        ],
      },
    },
  ],
};
const REQUEUED_PENDING: SlurmDbJob = {
  job_id: 4,
  array: { job_id: 0, task_id: null },
  comment: { job: null },
  state: { current: 'PENDING' },
  time: { submission: 1795623110, start: 0, end: 0, elapsed: 0 },
  nodes: 'None assigned',
  tres: { allocated: [] },
  steps: [],
};
const CANCELLED_PENDING: SlurmDbJob = {
  job_id: 6,
  array: { job_id: 0, task_id: null },
  comment: { job: null },
  state: { current: 'CANCELLED' },
  time: { submission: 1795623110, start: 1795623111, end: 1795623111, elapsed: 0 },
  nodes: 'None assigned',
  tres: { allocated: [] },
  steps: [],
};

const PRICES: OfferingPrices = {
  denom: 'uvirt',
  nodeHour: '500000',
  cpuCoreHour: '50000',
  memoryGbHour: '10000',
  gpuHour: { default: '1000000', a100: '3000000' },
  minimumCharge: '1000',
};

describe('hostlist', () => {
  it('expands ranges, lists and zero padding; None assigned is empty', () => {
    assert.deepEqual(expandHostlist('acct-a-n[1-3,7]'), ['acct-a-n1', 'acct-a-n2', 'acct-a-n3', 'acct-a-n7']);
    assert.deepEqual(expandHostlist('a[08-10]x,b,c[1]'), ['a08x', 'a09x', 'a10x', 'b', 'c1']);
    assert.deepEqual(expandHostlist('None assigned'), []);
    assert.deepEqual(expandHostlist(''), []);
    assert.throws(() => expandHostlist('a[3-1]'), /bad range/);
  });
});

describe('slurmdb records → accounting runs', () => {
  it('reads TRES, steps and array identity; energy with a null count is ignored', () => {
    const run = toAccountingRun(ARRAY_TASK_2);
    assert.equal(run.slurmJobId, 3);
    assert.equal(run.arrayJobId, 3);
    assert.equal(run.arrayTaskId, 2);
    assert.deepEqual(run.allocated, { cpu: 2, memMb: 512, nodes: 1, gpus: 0, gpusByModel: {} });
    assert.deepEqual(run.nodes, ['acct-a-n2']);
    assert.equal(run.steps[0].id, 'batch');
  });

  it('reads typed and untyped GPUs', () => {
    const run = toAccountingRun({
      ...MULTI_NODE,
      tres: {
        allocated: [
          { type: 'cpu', count: 4 },
          { type: 'gres', name: 'gpu', count: 3 },
          { type: 'gres', name: 'gpu:a100', count: 2 },
        ],
      },
    });
    assert.equal(run.allocated.gpus, 3);
    assert.deepEqual(run.allocated.gpusByModel, { a100: 2 });
  });

  it("reads TotalCPU (user + system) as sacct prints it on the job's line: the sum over its steps", () => {
    // 24.11 records the same figure on the job and on its steps.
    const captured = JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/slurm-24.11/cli/sacct.json'), 'utf8')).stdout.jobs as SlurmDbJob[];
    for (const job of captured) {
      const total = job.time?.total as { seconds: number; microseconds: number };
      assert.equal(toAccountingRun(job).cpuSeconds, total.seconds + total.microseconds / 1e6, `job ${job.job_id}`);
    }
    assert.ok(captured.some((job) => toAccountingRun(job).cpuSeconds > 0));
    // 22.05 (slurmdbd v0.0.38, as captured on acct-a) leaves the job's own total at 0.
    const steps = [
      { ...MULTI_NODE.steps![0], time: { elapsed: 2, total: { seconds: 1, microseconds: 185_794 } } },
      { ...MULTI_NODE.steps![1], time: { elapsed: 0, total: { seconds: 0, microseconds: 500_000 } } },
    ];
    assert.equal(toAccountingRun({ ...MULTI_NODE, time: { ...MULTI_NODE.time, total: { seconds: 0, microseconds: 0 } }, steps }).cpuSeconds, 1.685794);
    assert.equal(toAccountingRun({ ...MULTI_NODE, time: { ...MULTI_NODE.time, total: { seconds: 3, microseconds: 250_000 } }, steps: [] }).cpuSeconds, 3.25);
    assert.equal(toAccountingRun(MULTI_NODE).cpuSeconds, 0, 'steps without a total');
  });

  it('a job cancelled while pending has no nodes (its start time equals its end time, not 0)', () => {
    const run = toAccountingRun(CANCELLED_PENDING);
    assert.deepEqual(run.nodes, []);
    assert.equal(run.elapsedSeconds, 0);
  });
});

describe('usage metrics', () => {
  it('multi-node job: totals and a per-node split from the batch step', () => {
    const usage = computeUsage('acct-a', [toAccountingRun(MULTI_NODE)]);
    assert.deepEqual(usage.key, { island: 'acct-a', slurmJobId: 2, submitTime: 1795623109 });
    assert.equal(usage.metrics.wallSeconds, 2);
    assert.equal(usage.metrics.cpuCoreSeconds, 6); // 3 CPUs × 2 s
    assert.equal(usage.metrics.memoryMbSeconds, 600); // 300 MiB × 2 s
    assert.equal(usage.metrics.memoryGbSeconds, '0.585');
    assert.equal(usage.metrics.nodeSeconds, 4);
    assert.equal(usage.metrics.nodeHours, '0.001111');
    assert.equal(usage.metrics.nodesUsed, 2);
    assert.deepEqual(usage.nodes, [
      { node: 'acct-a-n1', nodeSeconds: 2, cpuCoreSeconds: 4, memoryMbSeconds: 400, gpuSeconds: {} },
      { node: 'acct-a-n2', nodeSeconds: 2, cpuCoreSeconds: 2, memoryMbSeconds: 200, gpuSeconds: {} },
    ]);
  });

  it('array: tasks add up under the master id, one node each', () => {
    const usage = computeUsage('acct-a', [toAccountingRun(ARRAY_TASK_2), toAccountingRun(ARRAY_TASK_1)]);
    assert.equal(usage.key.slurmJobId, 3);
    assert.equal(usage.metrics.runs, 2);
    assert.equal(usage.metrics.wallSeconds, 2);
    assert.equal(usage.metrics.cpuCoreSeconds, 4);
    assert.equal(usage.metrics.memoryMbSeconds, 1024);
    assert.equal(usage.metrics.memoryGbSeconds, '1.000');
    assert.deepEqual(
      usage.runs.map((r) => r.arrayTaskId),
      [1, 2],
    );
    assert.deepEqual(
      usage.nodes.map((n) => [n.node, n.cpuCoreSeconds]),
      [
        ['acct-a-n1', 2],
        ['acct-a-n2', 2],
      ],
    );
  });

  it('requeued: the requeued run is paid for, the pending one adds nothing, the key is the first submission', () => {
    const finalRun: SlurmDbJob = {
      ...MULTI_NODE,
      job_id: 4,
      time: { submission: 1795623110, start: 1795623300, end: 1795623305, elapsed: 5 },
      nodes: 'acct-a-n1',
      steps: [],
      tres: {
        allocated: [
          { type: 'cpu', count: 1 },
          { type: 'mem', count: 256 },
          { type: 'node', count: 1 },
        ],
      },
    };
    const usage = computeUsage('acct-a', [toAccountingRun(finalRun), toAccountingRun(REQUEUED_RUN)]);
    assert.equal(usage.key.submitTime, 1795623109);
    assert.equal(usage.metrics.requeuedRuns, 1);
    assert.equal(usage.metrics.wallSeconds, 6);
    assert.equal(usage.metrics.cpuCoreSeconds, 6);
    assert.deepEqual(
      usage.nodes.map((n) => [n.node, n.nodeSeconds]),
      [
        ['acct-a-n1', 5],
        ['acct-a-n2', 1],
      ],
    );
    const stillPending = computeUsage('acct-a', [toAccountingRun(REQUEUED_RUN), toAccountingRun(REQUEUED_PENDING)]);
    assert.equal(stillPending.metrics.cpuCoreSeconds, 1);
    assert.equal(stillPending.runs[1].state, 'PENDING');
  });

  it('never started: zero usage, started=false', () => {
    const usage = computeUsage('acct-a', [toAccountingRun(CANCELLED_PENDING)]);
    assert.equal(usage.metrics.started, false);
    assert.equal(usage.metrics.cpuCoreSeconds, 0);
    assert.equal(usage.metrics.nodeSeconds, 0);
    assert.deepEqual(usage.nodes, []);
  });

  it('GPUs: typed by accounting, the untyped rest by the node inventory, else unknown', () => {
    const run = toAccountingRun({
      job_id: 9,
      time: { submission: 1, start: 10, end: 20, elapsed: 10 },
      nodes: 'g[1-2]',
      state: { current: 'COMPLETED' },
      tres: {
        allocated: [
          { type: 'cpu', count: 8 },
          { type: 'mem', count: 1000 },
          { type: 'node', count: 2 },
          { type: 'gres', name: 'gpu', count: 4 },
          { type: 'gres', name: 'gpu:a100', count: 2 },
        ],
      },
      steps: [],
    });
    const usage = computeUsage('i', [run], { gpuModelOf: (n) => (n === 'g1' ? 't4' : undefined) });
    assert.deepEqual(usage.metrics.gpuSeconds, { a100: 20, t4: 10, unknown: 10 });
    assert.deepEqual(usage.nodes[0].gpuSeconds, { a100: 10, t4: 10 });
    assert.deepEqual(usage.nodes[1].gpuSeconds, { a100: 10, unknown: 10 });
  });

  it('per-node breakdown always sums to the totals (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 100000 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 100000 }),
        fc.option(fc.integer({ min: 1, max: 64 })),
        (n, cpu, mem, gpus, elapsed, batchCpu) => {
          const nodes = Array.from({ length: n }, (_, i) => `x${i + 1}`);
          const run = toAccountingRun({
            job_id: 1,
            time: { submission: 1, start: 2, end: 2 + elapsed, elapsed },
            nodes: `x[1-${n}]`,
            state: { current: 'COMPLETED' },
            tres: {
              allocated: [
                { type: 'cpu', count: cpu },
                { type: 'mem', count: mem },
                { type: 'node', count: n },
                { type: 'gres', name: 'gpu', count: gpus },
              ],
            },
            steps:
              batchCpu === null
                ? []
                : [
                    {
                      step: { id: 'batch' },
                      nodes: { list: [nodes[0]] },
                      tres: {
                        allocated: [
                          { type: 'cpu', count: batchCpu },
                          { type: 'mem', count: 1 },
                        ],
                      },
                    },
                  ],
          });
          const u = computeUsage('i', [run]);
          const sum = (f: (x: (typeof u.nodes)[number]) => number) => u.nodes.reduce((a, x) => a + f(x), 0);
          assert.equal(
            sum((x) => x.cpuCoreSeconds),
            cpu * elapsed,
          );
          assert.equal(
            sum((x) => x.memoryMbSeconds),
            mem * elapsed,
          );
          assert.equal(
            sum((x) => x.gpuSeconds.unknown ?? 0),
            gpus * elapsed,
          );
          assert.equal(
            sum((x) => x.nodeSeconds),
            n * elapsed,
          );
        },
      ),
    );
  });

  it('refuses runs of different SLURM jobs', () => {
    assert.throws(() => computeUsage('i', [toAccountingRun(MULTI_NODE), toAccountingRun(ARRAY_TASK_1)]), /different SLURM jobs/);
  });

  it('decimal() rounds down without floating point', () => {
    assert.equal(decimal(1, 3, 6), '0.333333');
    assert.equal(decimal(7200, 3600, 2), '2.00');
  });
});

describe('largest remainder', () => {
  it('sums exactly and gives leftover units to the largest remainders, ties to the smaller key', () => {
    assert.deepEqual(
      [
        ...apportion(10n, [
          ['a', 1n],
          ['b', 1n],
          ['c', 1n],
        ]),
      ],
      [
        ['a', 4n],
        ['b', 3n],
        ['c', 3n],
      ],
    );
    assert.deepEqual(
      [
        ...apportion(10n, [
          ['c', 1n],
          ['b', 1n],
          ['a', 1n],
        ]),
      ],
      [
        ['c', 3n],
        ['b', 3n],
        ['a', 4n],
      ],
    );
    assert.deepEqual(
      [
        ...apportion(100n, [
          ['x', 2n],
          ['y', 1n],
        ]),
      ],
      [
        ['x', 67n],
        ['y', 33n],
      ],
    );
    assert.deepEqual(
      [
        ...apportion(0n, [
          ['x', 2n],
          ['y', 1n],
        ]),
      ],
      [
        ['x', 0n],
        ['y', 0n],
      ],
    );
    assert.deepEqual(
      [
        ...apportion(1n, [
          ['x', 0n],
          ['y', 5n],
        ]),
      ],
      [
        ['x', 0n],
        ['y', 1n],
      ],
    );
  });

  it('refuses zero total weight, negative amounts and duplicate keys', () => {
    assert.throws(() => apportion(5n, [['a', 0n]]), /sum to zero/);
    assert.throws(() => apportion(-1n, [['a', 1n]]), /negative/);
    assert.throws(
      () =>
        apportion(5n, [
          ['a', 1n],
          ['a', 2n],
        ]),
      /duplicate/,
    );
  });

  it('always sums exactly, never gives a part more than one unit above its exact share (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 20 }), (total, ws) => {
        fc.pre(ws.some((w) => w > 0n));
        const weights = ws.map((w, i) => [`k${String(i).padStart(2, '0')}`, w] as const);
        const parts = apportion(total, weights);
        const sumW = ws.reduce((a, b) => a + b, 0n);
        assert.equal(
          [...parts.values()].reduce((a, b) => a + b, 0n),
          total,
        );
        for (const [key, w] of weights) {
          const exactFloor = (total * w) / sumW;
          const got = parts.get(key)!;
          assert.ok(got === exactFloor || got === exactFloor + 1n, `${key}: ${got} vs floor ${exactFloor}`);
        }
      }),
    );
  });

  it('splitEvenly', () => {
    assert.deepEqual(splitEvenly(7, 3), [3, 2, 2]);
    assert.deepEqual(splitEvenly(0, 2), [0, 0]);
  });
});

describe('rewards (archipelago.rewards/v1)', () => {
  const nodes: Contribution[] = [
    { node: 'n1', provider: 'p1', nodeSeconds: 100, benchmarkScore: 1000 },
    { node: 'n2', provider: 'p1', nodeSeconds: 100, benchmarkScore: 2000 },
    { node: 'n3', provider: 'p2', nodeSeconds: 50, benchmarkScore: 1000 },
  ];
  const total = (s: ReturnType<typeof splitRewards>) =>
    BigInt(s.platform) + s.providers.reduce((a, p) => a + BigInt(p.amount), 0n) + s.nodes.reduce((a, n) => a + BigInt(n.amount), 0n);

  it('5 / 80 / 15, node share by node-seconds × benchmark score', () => {
    const split = splitRewards(1_000_000n, nodes);
    assert.equal(split.platform, '50000');
    // weights 100000 : 200000 : 50000 over a pool of 150000
    assert.deepEqual(
      split.nodes.map((n) => [n.node, n.amount]),
      [
        ['n1', '42857'],
        ['n2', '85714'],
        ['n3', '21429'],
      ],
    );
    // provider weights p1 300000, p2 50000 over 800000
    assert.deepEqual(split.providers, [
      { provider: 'p1', amount: '685714' },
      { provider: 'p2', amount: '114286' },
    ]);
    assert.equal(total(split), 1_000_000n);
  });

  it('sums exactly for amounts that do not divide (1 unit, 7 units, a prime)', () => {
    for (const billed of [1n, 7n, 1000003n, 0n]) assert.equal(total(splitRewards(billed, nodes)), billed);
    const one = splitRewards(1n, nodes);
    assert.equal(one.providers.find((p) => p.provider === 'p1')!.amount, '1'); // 80 % has the largest remainder
  });

  it('zero-second job: nodes share equally; nobody ran it: the platform keeps everything', () => {
    const zero = splitRewards(
      90n,
      nodes.map((n) => ({ ...n, nodeSeconds: 0 })),
    );
    assert.equal(total(zero), 90n);
    assert.deepEqual(zero.nodes.map((n) => n.amount).sort(), ['4', '5', '5']);
    const nobody = splitRewards(90n, []);
    assert.equal(nobody.platform, '90');
  });

  it('always sums exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.array(fc.record({ s: fc.integer({ min: 0, max: 10 ** 7 }), b: fc.integer({ min: 1, max: 5000 }), p: fc.integer({ min: 0, max: 3 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        (billed, cs) => {
          const split = splitRewards(
            billed,
            cs.map((c, i) => ({ node: `n${i}`, provider: `p${c.p}`, nodeSeconds: c.s, benchmarkScore: c.b })),
          );
          assert.equal(total(split), billed);
        },
      ),
    );
  });

  it('refuses shares that do not add up to 100 %', () => {
    assert.throws(() => splitRewards(10n, nodes, { ...DEFAULT_REWARD_SHARES, nodesPpm: 1 }), /summing to 1 000 000/);
  });
});

describe('pricing', () => {
  it('costs the exact sum, rounded up once, at least the minimum', () => {
    // 1 node-hour, 4 cpu-core-hours, 2 GiB-hours, 1 a100-hour
    const cost = costOf({ nodeSeconds: 3600, cpuCoreSeconds: 4 * 3600, memoryMbSeconds: 2048 * 3600, gpuSeconds: { a100: 3600 } }, PRICES);
    assert.equal(cost, 500000n + 200000n + 20000n + 3000000n);
    assert.equal(costOf({ nodeSeconds: 1, cpuCoreSeconds: 0, memoryMbSeconds: 0, gpuSeconds: {} }, PRICES), 1000n); // 138.9 → minimum
    assert.equal(costOf({ nodeSeconds: 0, cpuCoreSeconds: 0, memoryMbSeconds: 0, gpuSeconds: {} }, PRICES), 0n);
    assert.equal(costOf({ nodeSeconds: 10, cpuCoreSeconds: 0, memoryMbSeconds: 0, gpuSeconds: {} }, { ...PRICES, minimumCharge: '0' }), 1389n); // 1388.9 up
  });

  it('parses decimal prices exactly and refuses bad ones', () => {
    assert.equal(parsePrice('0.000001'), 1n);
    assert.equal(parsePrice('12.5'), 12_500_000n);
    assert.throws(() => parsePrice('1e3'));
    assert.throws(() => parsePrice('-1'));
    assert.throws(() => parsePrice('0.0000001'));
  });

  it('a request is estimated at its full time limit, every array task, with the dearest price list', () => {
    const e = estimateJobCost({ nodes: { min: 2 }, ntasksPerNode: 2, cpusPerTask: 2, memPerNodeMb: 1024, timeLimitMinutes: 60 } as any, [PRICES]);
    assert.deepEqual(e.basis, { nodeSeconds: 7200, cpuCoreSeconds: 28800, memoryMbSeconds: 7372800, gpuSeconds: {}, runtimeMinutes: 60, tasks: 1 });
    assert.equal(e.estimate, 2n * 500000n + 8n * 50000n + 2n * 10000n);
    const array = estimateJobCost({ timeLimitMinutes: 30, array: { expression: '1-4', taskIds: [1, 2, 3, 4] }, gpusPerNode: 'a100:1' } as any, [
      PRICES,
      { ...PRICES, nodeHour: '900000' },
    ]);
    assert.equal(array.basis.tasks, 4);
    assert.deepEqual(array.basis.gpuSeconds, { a100: 4 * 1800 });
    assert.equal(array.estimate, 2n * 900000n + 2n * 50000n + 2n * 3000000n, 'the dearer list, GPUs at the a100 price');
  });
});

describe('usage record', () => {
  const usage = computeUsage('acct-a', [toAccountingRun(MULTI_NODE)]);
  const input = {
    jobId: '7',
    ownerId: 'u1',
    state: 'COMPLETED',
    usage,
    epoch: epochOf(1795623111),
    billing: { pricing: 'archipelago.pricing/v1', denom: 'uvirt', rewards: splitRewards(1000n, []) },
  };

  it('same content → same canonical bytes and hash, whatever the key order', () => {
    const a = buildUsageRecord(input);
    const b = buildUsageRecord({ billing: input.billing, epoch: input.epoch, usage, state: 'COMPLETED', ownerId: 'u1', jobId: '7' });
    assert.equal(a.canonical, b.canonical);
    assert.match(a.contentHash, /^[0-9a-f]{64}$/);
    assert.notEqual(buildUsageRecord({ ...input, state: 'FAILED' }).contentHash, a.contentHash);
  });

  for (const kind of ['ed25519', 'secp256k1'] as const) {
    it(`signs the content hash with ${kind} and the signature verifies (and fails for another hash)`, () => {
      const { privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
      const signer = usageSignerFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const record = buildUsageRecord(input);
      const signature = signer.sign(record.contentHash);
      assert.equal(signature.length, 64);
      assert.equal(verifyUsageSignature(kind, signer.publicKey, record.contentHash, signature), true);
      const other = buildUsageRecord({ ...input, state: 'FAILED' }).contentHash;
      assert.equal(verifyUsageSignature(kind, signer.publicKey, other, signature), false);
    });
  }

  it('refuses keys of other kinds', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => usageSignerFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })), /Ed25519 or secp256k1/);
  });
});

describe('accounting readiness', () => {
  it('waits for a record, for every array task, and for the final run of a requeued job', async () => {
    const { accountingIncomplete } = await import('../../src/core/usage/accounting-readiness');
    const later = 1795623111 + 3600;
    assert.match(accountingIncomplete([], null, later)!, /no record/);
    assert.equal(accountingIncomplete([toAccountingRun(MULTI_NODE)], null, later), null);
    assert.match(accountingIncomplete([toAccountingRun(ARRAY_TASK_1)], 2, later)!, /1 of 2 array tasks/);
    assert.equal(accountingIncomplete([toAccountingRun(ARRAY_TASK_1), toAccountingRun(ARRAY_TASK_2)], 2, later), null);
    assert.match(accountingIncomplete([toAccountingRun(REQUEUED_RUN), toAccountingRun(REQUEUED_PENDING)], null, later)!, /PENDING/);
    assert.match(accountingIncomplete([toAccountingRun(REQUEUED_RUN)], null, later)!, /REQUEUED/);
    assert.equal(accountingIncomplete([toAccountingRun(CANCELLED_PENDING)], null, later), null);
  });

  it('gives a run that held nodes a moment for its batch step to arrive, then accounts without it', async () => {
    const { accountingIncomplete, STEP_SETTLE_SECONDS } = await import('../../src/core/usage/accounting-readiness');
    const noSteps = toAccountingRun({ ...MULTI_NODE, steps: [] });
    const end = noSteps.endTime!;
    assert.match(accountingIncomplete([noSteps], null, end + 1)!, /batch step/);
    assert.equal(accountingIncomplete([noSteps], null, end + STEP_SETTLE_SECONDS), null);
    assert.equal(accountingIncomplete([toAccountingRun(MULTI_NODE)], null, end + 1), null);
    const shortList = toAccountingRun({ ...MULTI_NODE, nodes: 'acct-a-n1', steps: [MULTI_NODE.steps![0]] });
    assert.deepEqual(shortList.nodes, ['acct-a-n1']);
    assert.match(accountingIncomplete([shortList], null, end + 1)!, /1 of the 2 nodes/);
    // the steps complete a lagging node list
    assert.deepEqual(toAccountingRun({ ...MULTI_NODE, nodes: 'acct-a-n1' }).nodes, ['acct-a-n1', 'acct-a-n2']);
  });
});

describe('chain usage metrics', () => {
  it('maps to HPCUsageMetrics int64 units: GB-s down, node-hours up, GPUs summed', async () => {
    const { toChainUsageMetrics } = await import('../../src/core/usage/chain-usage-metrics');
    const usage = computeUsage('acct-a', [toAccountingRun(MULTI_NODE)]);
    assert.deepEqual(toChainUsageMetrics(usage.metrics), {
      wallClockSeconds: 2n,
      cpuCoreSeconds: 6n,
      memoryGbSeconds: 0n,
      gpuSeconds: 0n,
      storageGbHours: 0n,
      networkBytesIn: 0n,
      networkBytesOut: 0n,
      nodeHours: 1n,
      nodesUsed: 2,
    });
    const big = { ...usage.metrics, memoryMbSeconds: 2047, nodeSeconds: 7200, gpuSeconds: { a100: 10, unknown: 5 } };
    const chain = toChainUsageMetrics(big);
    assert.equal(chain.memoryGbSeconds, 1n);
    assert.equal(chain.nodeHours, 2n);
    assert.equal(chain.gpuSeconds, 15n);
    assert.equal(toChainUsageMetrics({ ...usage.metrics, nodeSeconds: 0 }).nodeHours, 0n);
  });
});
