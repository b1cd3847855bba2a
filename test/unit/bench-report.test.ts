import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { benchmarkName, loadOf, newestResults, supersededResults } from '../../benchmarks/report/run';
import { describeTarget, headlines, panels, verdict } from '../../benchmarks/report/headlines';
import { formatValue, renderChart } from '../../benchmarks/report/svg-chart';
import { machineAtEnd, machineAtStart } from '../../benchmarks/support/machine.cjs';

describe('benchmark report', () => {
  it('names a benchmark by its file prefix and never reads its own outputs', () => {
    assert.equal(benchmarkName('submit-2026-11-25T17-04-41-561Z.json'), 'submit');
    assert.equal(benchmarkName('operators.json'), 'operators');
    assert.equal(benchmarkName('ledger-2026-11-25T18-00-00-000Z.json'), 'ledger');
    assert.equal(benchmarkName('summary.json'), null);
    assert.equal(benchmarkName('REPORT.md'), null);
    assert.equal(benchmarkName('chart.svg'), null);
  });

  it('keeps the newest file of each benchmark by the time recorded inside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      writeFileSync(join(dir, 'submit-b.json'), JSON.stringify({ startedAt: '2026-11-25T10:00:00.000Z', rounds: [] }));
      writeFileSync(join(dir, 'submit-a.json'), JSON.stringify({ startedAt: '2026-11-25T12:00:00.000Z', rounds: [] }));
      writeFileSync(join(dir, 'ledger-x.json'), JSON.stringify({ at: '2026-11-25T11:00:00.000Z', recordsPerSecond: 42 }));
      writeFileSync(join(dir, 'other-x.json'), JSON.stringify({ at: '2026-11-25T11:00:00.000Z', rate: 7, nested: { ratio: 1.5, n: 3 } }));
      writeFileSync(join(dir, 'broken-1.json'), '{"half":');
      writeFileSync(join(dir, 'summary.json'), JSON.stringify({ startedAt: '2099-01-01T00:00:00.000Z' }));
      const found = newestResults(dir);
      assert.deepEqual(
        found.map((f) => [f.name, f.file]),
        [
          ['submit', 'submit-a.json'],
          ['ledger', 'ledger-x.json'],
          ['other', 'other-x.json'],
        ],
      );
      // A ledger file of another shape, and an unknown benchmark, still report their numbers.
      assert.deepEqual(
        headlines('ledger', found[1].result).map((h) => [h.metric, h.value]),
        [['recordsPerSecond', 42]],
      );
      assert.deepEqual(
        headlines('other', found[2].result).map((h) => [h.metric, h.value, h.chart]),
        [
          ['rate', 7, undefined],
          ['nested.ratio', 1.5, 'ratio'],
        ],
      );
      // Pruning keeps the newest per benchmark, quoted files, and anything not a results file.
      writeFileSync(join(dir, 'submit-c.json'), JSON.stringify({ startedAt: '2026-11-25T09:00:00.000Z', rounds: [] }));
      assert.deepEqual(supersededResults(dir, found, new Set(['submit-c.json'])).sort(), ['broken-1.json', 'submit-b.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports what a held array costs against the same island without it', () => {
    const rows = headlines('arrays', {
      settings: { tasks: 10000, island: 'local-a', busy: true },
      phases: { quiet: { workerCores: 0.02, postgresCores: 0.003 }, heldArray: { workerCores: 0.021, postgresCores: 0.003, taskRowsWrittenPerSecond: 0 } },
    });
    assert.deepEqual(
      rows.map((r) => [r.metric, r.value, r.against]),
      [
        ['task rows written per second, held 10000-task array, busy local-a', 0, 'target 0'],
        ['worker CPU, held 10000-task array, busy local-a', 0.021, '0.02 without it'],
        ['PostgreSQL CPU, held 10000-task array, busy local-a', 0.003, '0.003 without it'],
      ],
    );
  });

  it('reports both submit baselines as ratios, and a skipped SSH baseline as missing, not zero', () => {
    const round = {
      apiAccept: { perSecond: 1400, latencyMs: { p99: 45 } },
      dispatch: { perSecondSteady: 1000, perSecondFromStart: 800, workers: 1 },
      raw: { perSecond: 1250 },
      ratioSteady: 0.8,
      ratioFromStart: 0.64,
      sshSbatch: null,
      ratioSshSteady: null,
      ratioSshFromStart: null,
    };
    const rows = headlines('submit', {
      settings: { island: 'local-a' },
      targets: { dispatchRatioSteady: 0.95, dispatchRatioFromStart: 0.9 },
      rounds: [round, { ...round, dispatch: { ...round.dispatch, workers: 3 }, ratioSteady: 0.97 }],
    });
    const row = (metric: string) => rows.find((h) => h.metric === metric);
    assert.equal(row('dispatch / raw slurmrestd (steady), local-a')?.value, 0.8);
    assert.equal(verdict(row('dispatch / raw slurmrestd (steady), local-a')!), 'FAIL');
    assert.equal(verdict(row('dispatch / raw slurmrestd (steady), local-a, 3 workers')!), 'PASS');
    assert.equal(row('dispatch / SSH + sbatch (steady), local-a'), undefined, 'no SSH row when the baseline was skipped');
    const ratioBars = panels(rows).find((p) => p.title.startsWith('Ratios'))!.bars;
    assert.deepEqual(
      ratioBars.map((b) => b.value),
      [0.8, 0.64, 0.97, 0.64],
    );
  });

  it('shows the machine CPU each job cost dispatched and submitted raw, and the ceiling that puts on dispatch/raw', () => {
    const round = {
      island: 'local-c',
      slurm: '24.11.5',
      dispatch: { perSecondSteady: 500, perSecondFromStart: 400, workers: 1 },
      raw: { perSecond: 600 },
      ratioSteady: 0.83,
      ratioFromStart: 0.67,
      cpuMsPerJob: { dispatch: { machine: 3.2, byGroup: {} }, raw: { machine: 2.6, byGroup: {} }, cpuBoundCeiling: 0.81 },
    };
    const rows = headlines('submit', {
      targets: {},
      rounds: [round, { ...round, cpuMsPerJob: { ...round.cpuMsPerJob, dispatch: null, cpuBoundCeiling: null } }],
    });
    const where = 'local-c (SLURM 24.11.5)';
    assert.deepEqual(
      rows.filter((h) => h.metric.includes('CPU')).map((h) => [h.metric, h.value, h.unit]),
      [
        [`machine CPU per job: dispatch (after boot), ${where}`, 3.2, 'ms'],
        [`machine CPU per job: raw slurmrestd submit, ${where}`, 2.6, 'ms'],
        [`CPU-bound ceiling of dispatch / raw, ${where}`, 0.81, '×'],
      ],
      'once, for the round whose worker boot was seen',
    );
  });

  it('names the rounds measured with SLURM on cores of its own, and keeps the plain name for shared cores', () => {
    const round = (layout?: string) => ({
      island: 'local-a',
      slurm: '22.05.8',
      ...(layout ? { cpuLayout: { layout } } : {}),
      dispatch: { perSecondSteady: 700, perSecondFromStart: 500, workers: 1 },
      raw: { perSecond: 720 },
      ratioSteady: 0.97,
      ratioFromStart: 0.7,
    });
    const rows = headlines('submit', { targets: { dispatchRatioSteady: 0.95 }, rounds: [round(), round('shared'), round('split')] });
    assert.deepEqual(
      rows.filter((h) => h.metric.startsWith('dispatch / raw slurmrestd (steady)')).map((h) => h.metric),
      [
        'dispatch / raw slurmrestd (steady), local-a (SLURM 22.05.8)',
        'dispatch / raw slurmrestd (steady), local-a (SLURM 22.05.8)',
        'dispatch / raw slurmrestd (steady), local-a (SLURM 22.05.8), SLURM on cores of its own',
      ],
    );
  });

  it('reads the accept benchmark per API process count, with PASS or FAIL against the absolute targets', () => {
    const rows = headlines('accept', {
      targets: { perSecond: 2500, p99Ms: 20 },
      rounds: [
        { apiProcesses: 1, perSecond: 1400, latencyMs: { p99: 30 }, scalingEfficiency: 1 },
        { apiProcesses: 2, perSecond: 2600, latencyMs: { p99: 19.9 }, scalingEfficiency: 0.929 },
      ],
    });
    assert.deepEqual(
      rows.map((h) => [h.metric, h.value, h.target ? describeTarget(h.target) : h.against, verdict(h)]),
      [
        ['API accept, 1 API process', 1400, 'target ≥ 2500', 'FAIL'],
        ['API accept p99, 1 API process', 30, 'target < 20', 'FAIL'],
        ['API accept, 2 API processes', 2600, 'target ≥ 2500', 'PASS'],
        ['API accept p99, 2 API processes', 19.9, 'target < 20', 'PASS'],
        ['scaling efficiency, 2 API processes', 0.929, 'one process × count', ''],
      ],
    );
    assert.equal(verdict({ benchmark: 'x', metric: 'y', value: null, unit: '', target: { atMost: 1 } }), 'FAIL', 'a missing number fails its target');
  });

  it('states the load each benchmark recorded', () => {
    assert.equal(loadOf({ machine: { loadavgAtStart: [0.31, 1, 1], loadavgAtEnd: [1.52, 1, 1] } }), '0.31 → 1.52');
    assert.equal(loadOf({ machine: { loadavgAtEnd: [2, 1, 1] } }), 'at end 2.00');
    assert.equal(loadOf({ machine: { loadavgAtStart: [0.5, 1, 1] } }), '0.50');
    assert.equal(loadOf({}), '—');
  });

  it('records the load before a benchmark apart from the load as it writes its results', () => {
    const start = machineAtStart();
    assert.equal(start.loadavgAtStart.length, 3);
    assert.equal(start.loadavgAtEnd, undefined);
    assert.ok(start.cpus >= 1);
    const end = machineAtEnd(start);
    assert.deepEqual(end.loadavgAtStart, start.loadavgAtStart);
    assert.equal(end.loadavgAtEnd?.length, 3);
    assert.equal(loadOf({ machine: end }), `${start.loadavgAtStart[0].toFixed(2)} → ${end.loadavgAtEnd![0].toFixed(2)}`);
  });

  it('reads the ledger benchmark: batched rate, its one-job-per-transaction baseline and the speedup', () => {
    const rows = headlines('ledger', {
      batched: { jobs: 10000, jobsPerSecond: 263, messagesPerTransaction: 75, duplicates: 0 },
      baseline: { name: 'oneJobPerTx', jobsPerSecond: 44 },
      speedupVsBaseline: 5.977,
    });
    assert.deepEqual(
      rows.filter((h) => h.chart === 'ratio').map((h) => h.value),
      [5.977],
    );
    assert.equal(rows.find((h) => h.metric === 'duplicate reports')?.value, 0);
  });

  it('reads the soak: the rate held against its target, dispatch pace, latency and heap; generic rows for an older shape', () => {
    const rows = headlines('soak', {
      settings: { rate: 500, seconds: 600 },
      submitted: 300000,
      seconds: 600.01,
      achievedPerSecond: 500,
      errors: 0,
      dispatched: 299962,
      dispatchBacklogAtEnd: 118,
      latencyMs: { worstWindowP99: 1313.3 },
      windows: [0, 180, 150, 300, 160, 200, 90, 120, 400, 170].map((heap, i) => ({ second: 10 * (i + 1), workerHeapMiB: heap, apiHeapMiB: 100 + i })),
    });
    const accepted = rows.find((r) => r.metric.startsWith('submissions accepted'))!;
    assert.equal(accepted.value, 500);
    assert.equal(accepted.against, 'target 500/s for 600 s');
    assert.equal(rows.find((r) => r.metric === 'dispatched to SLURM')?.unit, '(backlog at end 118)');
    const workerHeap = rows.find((r) => r.metric === 'worker heap floor, first → last minute')!;
    assert.deepEqual([workerHeap.value, workerHeap.unit], [90, 'MiB (from 150)'], 'lowest sample of the first and last six windows; 0 = not sampled yet');
    assert.equal(rows.find((r) => r.metric === 'API heap floor, first → last minute')?.value, 104);
    assert.deepEqual(
      headlines('soak', { submitted: 10, errors: 0 }).map((r) => r.metric),
      ['submitted', 'errors'],
    );
  });

  it('reads the follow benchmark: per-id state at the largest size against the target, the largest full listing', () => {
    const size = (finishedJobs: number, requests: Array<[string, number]>) => ({
      finishedJobs,
      ctldRssMiB: finishedJobs / 100,
      requests: requests.map(([request, coresAt1Hz]) => ({ request, coresAt1Hz })),
    });
    const rows = headlines('follow', {
      results: [
        size(2000, [
          ['jobs', 2.9],
          ['state-1000', 0.0084],
          ['state-10', 0.0024],
        ]),
        size(5000, [
          ['jobs', 7.2],
          ['state-1000', 0.0089],
          ['state-10', 0.0038],
        ]),
        size(100000, [
          ['state-all', 38.3],
          ['state-1000', 0.0082],
          ['state-10', 0.0026],
        ]),
      ],
    });
    assert.deepEqual(
      rows.map((r) => [r.metric, r.value, r.target ? describeTarget(r.target) : r.against]),
      [
        ['state of 1000 ids, 100000 finished jobs', 0.0082, 'target ≤ 0.05'],
        ['state of 10 ids, 100000 finished jobs', 0.0026, 'target ≤ 0.05'],
        ['full GET /jobs, 5000 finished jobs', 7.2, undefined],
        ['slurmctld RSS, 100000 finished jobs', 1000, undefined],
      ],
    );
    assert.deepEqual(
      headlines('follow', { finishedJobs: 3 }).map((r) => r.metric),
      ['finishedJobs'],
    );
  });

  it('renders well-formed SVG with labels escaped and bars scaled to the panel maximum', () => {
    const svg = renderChart('a <b> & "c"', [
      {
        title: 'T',
        unit: 'x',
        bars: [
          { label: 'half <', value: 5 },
          { label: 'full', value: 10, highlight: true },
        ],
      },
      { title: 'empty', unit: 'x', bars: [] },
    ]);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.includes('a &lt;b&gt; &amp; &quot;c&quot;'));
    assert.ok(svg.includes('half &lt;'));
    assert.ok(!svg.includes('empty'));
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(widths.length, 2);
    assert.ok(Math.abs(widths[1] - 2 * widths[0]) < 0.5, `bar widths ${widths}`);
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(0.8123), '0.81');
    assert.equal(formatValue(1234.5), '1235');
  });
});
