/**
 * The few numbers per benchmark that the report's table and chart show, read from each
 * benchmark's own results JSON. Pure: takes parsed results, returns rows.
 */
import type { Bar, Panel } from './svg-chart';

export interface Headline {
  benchmark: string;
  metric: string;
  value: number | null;
  unit: string;
  /** What the number is compared with (a named baseline or the issue's target), if anything. */
  against?: string;
  /** Which chart panel shows it, if any. */
  chart?: 'ratio' | 'throughput' | 'memory';
  highlight?: boolean;
  /** An issue's target for the number: the report says PASS or FAIL against it. */
  target?: Target;
}

export type Target = { atLeast: number } | { below: number } | { atMost: number };

export function describeTarget(target: Target): string {
  if ('atLeast' in target) return `target ≥ ${target.atLeast}`;
  if ('below' in target) return `target < ${target.below}`;
  return `target ≤ ${target.atMost}`;
}

/** PASS or FAIL for a row with a target; '' for one without (or without a value: FAIL). */
export function verdict(h: Headline): 'PASS' | 'FAIL' | '' {
  if (!h.target) return '';
  if (h.value === null) return 'FAIL';
  const t = h.target;
  const ok = 'atLeast' in t ? h.value >= t.atLeast : 'below' in t ? h.value < t.below : h.value <= t.atMost;
  return ok ? 'PASS' : 'FAIL';
}

type Json = any;

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function submit(r: Json): Headline[] {
  const rounds: Json[] = r.rounds ?? [];
  if (rounds.length === 0) return [{ benchmark: 'submit', metric: `no completed round (${r.failure ?? 'unknown'})`, value: null, unit: '' }];
  const t = r.targets ?? {};
  const h = (metric: string, value: unknown, unit: string, extra: Partial<Headline> = {}): Headline => ({
    benchmark: 'submit',
    metric,
    value: num(value),
    unit,
    ...extra,
  });
  const target = (value: unknown): Target | undefined => (typeof value === 'number' ? { atLeast: value } : undefined);
  const rows: Headline[] = [];
  for (const round of rounds) {
    // Rounds with SLURM on cores of its own say so; rounds sharing every core (and files older than layouts) keep the plain name.
    const layout = round.cpuLayout?.layout === 'split' ? ', SLURM on cores of its own' : '';
    const island = `${round.island ?? r.settings?.island ?? ''}${round.slurm ? ` (SLURM ${round.slurm})` : ''}${layout}`;
    const d = round.dispatch ?? {};
    const where = `${island}${d.workers && d.workers > 1 ? `, ${d.workers} workers` : ''}`;
    rows.push(
      h(`dispatch (steady), ${where}`, d.perSecondSteady, 'jobs/s', { chart: 'throughput', highlight: true }),
      h(`dispatch (from worker spawn), ${where}`, d.perSecondFromStart, 'jobs/s', { chart: 'throughput' }),
      h(`raw slurmrestd submit, ${island}`, round.raw?.perSecond, 'jobs/s', { against: 'baseline', chart: 'throughput' }),
      h(`dispatch / raw slurmrestd (steady), ${where}`, round.ratioSteady, '×', { target: target(t.dispatchRatioSteady), chart: 'ratio', highlight: true }),
      h(`dispatch / raw slurmrestd (from spawn), ${where}`, round.ratioFromStart, '×', { target: target(t.dispatchRatioFromStart), chart: 'ratio' }),
    );
    const perJob = round.cpuMsPerJob;
    if (perJob?.dispatch) {
      rows.push(
        h(`machine CPU per job: dispatch (after boot), ${where}`, perJob.dispatch.machine, 'ms', { against: 'all processes' }),
        h(`machine CPU per job: raw slurmrestd submit, ${island}`, perJob.raw?.machine, 'ms', { against: 'all processes' }),
        h(`CPU-bound ceiling of dispatch / raw, ${where}`, perJob.cpuBoundCeiling, '×', { against: 'raw ÷ dispatch CPU per job' }),
      );
    }
    if (round.sshSbatch) {
      rows.push(
        h(`SSH + sbatch submit, ${island}`, round.sshSbatch.perSecond, 'jobs/s', { against: 'baseline', chart: 'throughput' }),
        h(`dispatch / SSH + sbatch (steady), ${where}`, round.ratioSshSteady, '×', { against: 'parity 1.0', chart: 'ratio' }),
      );
    }
  }
  return rows;
}

/** benchmarks/accept: the accept rate per number of API processes, against the issue's absolute targets. */
function accept(r: Json): Headline[] {
  const rows: Headline[] = [];
  const t = r.targets ?? {};
  for (const round of (r.rounds ?? []) as Json[]) {
    const what = `${round.apiProcesses} API process${round.apiProcesses === 1 ? '' : 'es'}`;
    rows.push(
      {
        benchmark: 'accept',
        metric: `API accept, ${what}`,
        value: num(round.perSecond),
        unit: 'jobs/s',
        ...(typeof t.perSecond === 'number' ? { target: { atLeast: t.perSecond } } : {}),
        chart: 'throughput',
        highlight: true,
      },
      {
        benchmark: 'accept',
        metric: `API accept p99, ${what}`,
        value: num(round.latencyMs?.p99),
        unit: 'ms',
        ...(typeof t.p99Ms === 'number' ? { target: { below: t.p99Ms } } : {}),
      },
    );
    if (round.apiProcesses > 1)
      rows.push({ benchmark: 'accept', metric: `scaling efficiency, ${what}`, value: num(round.scalingEfficiency), unit: '×', against: 'one process × count' });
  }
  return rows;
}

function memory(r: Json): Headline[] {
  const h = (metric: string, value: unknown, unit: string, extra: Partial<Headline> = {}): Headline => ({
    benchmark: 'memory',
    metric,
    value: num(value),
    unit,
    ...extra,
  });
  const jobs = r.inserted?.jobs ?? r.settings?.jobs;
  const p = r.phases ?? {};
  return [
    h('API RSS, idle, no jobs', p.empty?.api?.rssMiB?.mean, 'MiB', { against: 'baseline', chart: 'memory' }),
    h('worker RSS, idle, no jobs', p.empty?.worker?.rssMiB?.mean, 'MiB', { against: 'baseline', chart: 'memory' }),
    h(`worker RSS peak, ${jobs} tracked, following`, p.tracked?.worker?.rssMiB?.max, 'MiB', { chart: 'memory', highlight: true }),
    h(`API RSS peak, ${jobs} tracked, serving list/get`, p.serving?.api?.rssMiB?.max, 'MiB', { chart: 'memory', highlight: true }),
    h(`worker RSS peak, ${jobs} tracked, while API serves`, p.serving?.worker?.rssMiB?.max, 'MiB', { chart: 'memory' }),
    h('worker heap retained after GC, growth over empty', r.growth?.after?.worker?.retainedHeapMiB, 'MiB'),
    h('API heap retained after GC, growth over empty', r.growth?.after?.api?.retainedHeapMiB, 'MiB'),
    h('worker CPU following, idle', p.tracked?.cpu?.coresByGroup?.worker, 'cores'),
    h('list/get served', r.serving?.perSecond, 'req/s', { chart: 'throughput' }),
    h('list/get p99', r.serving?.latencyMs?.p99, 'ms'),
  ];
}

function arrays(r: Json): Headline[] {
  const h = (metric: string, value: unknown, unit: string, extra: Partial<Headline> = {}): Headline => ({
    benchmark: 'arrays',
    metric,
    value: num(value),
    unit,
    ...extra,
  });
  const quiet = r.phases?.quiet ?? {};
  const held = r.phases?.heldArray ?? {};
  const what = `held ${r.settings?.tasks}-task array, ${r.settings?.busy === false ? 'quiet' : 'busy'} ${r.settings?.island}`;
  return [
    h(`task rows written per second, ${what}`, held.taskRowsWrittenPerSecond, 'rows/s', { against: 'target 0', highlight: true }),
    h(`worker CPU, ${what}`, held.workerCores, 'cores', { against: `${quiet.workerCores} without it` }),
    h(`PostgreSQL CPU, ${what}`, held.postgresCores, 'cores', { against: `${quiet.postgresCores} without it` }),
  ];
}

function topology(r: Json): Headline[] {
  return [
    { benchmark: 'topology', metric: `group ${r.settings?.nodes} nodes (median)`, value: num(r.grouping?.medianMs), unit: 'ms', against: 'target < 2000' },
    { benchmark: 'topology', metric: 'islands within their latency bound', value: num(r.result?.islandsWithinBoundPct), unit: '%' },
    {
      benchmark: 'topology',
      metric: 'region-label groups breaking 2 ms (baseline)',
      value: num(r.regionLabelBaseline?.violatingTight2ms),
      unit: `of ${r.regionLabelBaseline?.groups}`,
      against: 'baseline',
    },
  ];
}

function placement(r: Json): Headline[] {
  return [
    {
      benchmark: 'placement',
      metric: `placeMany ${r.settings?.jobs} jobs over ${r.settings?.nodes} nodes (median)`,
      value: num(r.timing?.placeManyMedianMs),
      unit: 'ms',
      against: `target < ${r.timing?.targetMs}`,
    },
    {
      benchmark: 'placement',
      metric: 'violations in replayed reservations',
      value: num(r.verification?.violations),
      unit: `of ${r.verification?.reservationsChecked}`,
    },
  ];
}

function usage(r: Json): Headline[] {
  return [
    { benchmark: 'usage', metric: 'job end → usage record (p50)', value: num(r.endToRecordSeconds?.p50), unit: 's' },
    { benchmark: 'usage', metric: 'slurmdbd query for 1 id', value: num(r.baseline?.slurmdbd?.oneIdMs), unit: 'ms', against: 'baseline' },
    { benchmark: 'usage', metric: 'duplicate records', value: num(r.duplicates), unit: '' },
  ];
}

function identity(r: Json): Headline[] {
  const rounds: Json[] = r.rounds ?? [];
  const base = rounds.find((x) => /baseline/.test(x.name));
  const rows: Headline[] = rounds.map((x) => ({
    benchmark: 'identity',
    metric: x.name,
    value: num(x.perSecond),
    unit: 'req/s',
    chart: /^submit/.test(x.name) ? 'throughput' : undefined,
  }));
  for (const x of rounds.filter((x) => /^submit/.test(x.name) && x !== base)) {
    if (base?.perSecond > 0)
      rows.push({
        benchmark: 'identity',
        metric: `${x.name} / API key`,
        value: Math.round((x.perSecond / base.perSecond) * 1000) / 1000,
        unit: '×',
        against: 'baseline',
        chart: 'ratio',
      });
  }
  return rows;
}

function operators(r: Json): Headline[] {
  return [
    {
      benchmark: 'operators',
      metric: `converge ${r.workload?.islands} islands + ${r.workload?.nodeSets} node sets`,
      value: num(r.convergenceMs) === null ? null : r.convergenceMs / 1000,
      unit: 's',
    },
    {
      benchmark: 'operators',
      metric: 'API writes / minimum needed',
      value: num(r.baseline?.ratio),
      unit: '×',
      against: 'baseline (minimum writes)',
      chart: 'ratio',
    },
    { benchmark: 'operators', metric: 'peak RSS', value: num(r.peakRssMb), unit: 'MiB' },
  ];
}

/** benchmarks/ledger (chain reporting through the outbox drainer); its generic rows if the shape differs. */
function ledger(r: Json): Headline[] {
  if (!r?.batched) return generic('ledger', r);
  const rows: Headline[] = [
    {
      benchmark: 'ledger',
      metric: `report ${r.batched.jobs} jobs to the chain, batched`,
      value: num(r.batched.jobsPerSecond),
      unit: 'jobs/s',
      chart: 'throughput',
      highlight: true,
    },
    { benchmark: 'ledger', metric: 'messages per transaction', value: num(r.batched.messagesPerTransaction), unit: '' },
    { benchmark: 'ledger', metric: 'duplicate reports', value: num(r.batched.duplicates), unit: '' },
  ];
  if (r.baseline) {
    rows.push(
      {
        benchmark: 'ledger',
        metric: `one job per transaction (${r.baseline.name ?? 'baseline'})`,
        value: num(r.baseline.jobsPerSecond),
        unit: 'jobs/s',
        against: 'baseline',
        chart: 'throughput',
      },
      {
        benchmark: 'ledger',
        metric: 'batched / one job per transaction',
        value: num(r.speedupVsBaseline),
        unit: '×',
        against: 'baseline',
        chart: 'ratio',
        highlight: true,
      },
    );
  }
  return rows;
}

/** benchmarks/soak: the rate held against the target, whether dispatch kept pace, latency and memory; generic rows if the shape differs. */
function soak(r: Json): Headline[] {
  if (!r?.settings || !r?.latencyMs) return generic('soak', r);
  const target = `target ${r.settings.rate}/s for ${r.settings.seconds} s`;
  const rows: Headline[] = [
    {
      benchmark: 'soak',
      metric: `submissions accepted, ${r.submitted} in ${r.seconds} s`,
      value: num(r.achievedPerSecond),
      unit: '/s',
      against: target,
      chart: 'throughput',
      highlight: true,
    },
    { benchmark: 'soak', metric: 'errors', value: num(r.errors), unit: `of ${r.submitted}` },
    { benchmark: 'soak', metric: 'dispatched to SLURM', value: num(r.dispatched), unit: `(backlog at end ${r.dispatchBacklogAtEnd})` },
    { benchmark: 'soak', metric: 'worst 10-s window p99 (includes warm-up)', value: num(r.latencyMs.worstWindowP99), unit: 'ms' },
  ];
  // The heap's lowest sample in a minute is the live set after a collection; averages follow the GC's sawtooth.
  const windows: Json[] = Array.isArray(r.windows) ? r.windows : [];
  const floor = (ws: Json[], key: string) => {
    const sampled = ws.map((w) => w[key]).filter((v) => typeof v === 'number' && v > 0);
    return sampled.length ? Math.min(...sampled) : null;
  };
  for (const [key, who] of [
    ['workerHeapMiB', 'worker'],
    ['apiHeapMiB', 'API'],
  ] as const) {
    const first = floor(windows.slice(0, 6), key);
    const last = floor(windows.slice(-6), key);
    if (first !== null && last !== null)
      rows.push({ benchmark: 'soak', metric: `${who} heap floor, first → last minute`, value: last, unit: `MiB (from ${first})` });
  }
  return rows;
}

/**
 * benchmarks/follow: what following a SLURM 24.11 island costs at the largest number of finished jobs,
 * asking per id (what a follower can afford) against the largest full listing measured; generic rows if
 * the shape differs.
 */
function follow(r: Json): Headline[] {
  const sizes: Json[] = Array.isArray(r?.results) ? r.results : [];
  if (sizes.length === 0) return generic('follow', r);
  const cores = (size: Json, request: string) => num(size.requests?.find((q: Json) => q.request === request)?.coresAt1Hz);
  const largest = sizes[sizes.length - 1];
  const rows: Headline[] = [];
  for (const k of ['1000', '10']) {
    const value = cores(largest, `state-${k}`);
    if (value !== null)
      rows.push({
        benchmark: 'follow',
        metric: `state of ${k} ids, ${largest.finishedJobs} finished jobs`,
        value,
        unit: 'cores at 1/s',
        target: { atMost: 0.05 },
        highlight: k === '1000',
      });
  }
  const full = [...sizes].reverse().find((size) => cores(size, 'jobs') !== null);
  if (full) rows.push({ benchmark: 'follow', metric: `full GET /jobs, ${full.finishedJobs} finished jobs`, value: cores(full, 'jobs'), unit: 'cores at 1/s' });
  rows.push({ benchmark: 'follow', metric: `slurmctld RSS, ${largest.finishedJobs} finished jobs`, value: num(largest.ctldRssMiB), unit: 'MiB' });
  return rows;
}

/** Benchmarks without their own extractor (e.g. one added later): every top-level number, and any ratio one level down. */
function generic(name: string, r: Json): Headline[] {
  const rows: Headline[] = [];
  for (const [key, value] of Object.entries(r ?? {})) {
    if (num(value) !== null) rows.push({ benchmark: name, metric: key, value: value as number, unit: '' });
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
        if (/ratio/i.test(inner) && num(v) !== null) rows.push({ benchmark: name, metric: `${key}.${inner}`, value: v as number, unit: '×', chart: 'ratio' });
      }
    }
  }
  return rows.slice(0, 12);
}

function stability(r: Json): Headline[] {
  const rows: Headline[] = [];
  for (const run of (r.runs ?? []) as Json[]) {
    const band = run.withinBand ? 'within the band' : 'beyond the band';
    const jitter = `±${((num(run.jitter) ?? 0) * 100).toFixed(1)} % jitter (${band})`;
    rows.push({
      benchmark: 'stability',
      metric: `tier changes per hour, ${jitter}`,
      value: num(run.timeHysteresis?.tierChanges),
      unit: '/h',
      against: `baseline ${num(run.baseline?.tierChanges)}`,
    });
    rows.push({
      benchmark: 'stability',
      metric: `moves per hour, ${jitter}`,
      value: num(run.timeHysteresis?.moves),
      unit: '/h',
      against: `baseline ${num(run.baseline?.moves)}`,
    });
  }
  return rows;
}

const EXTRACTORS: Record<string, (r: Json) => Headline[]> = {
  submit,
  accept,
  memory,
  arrays,
  ledger,
  topology,
  stability,
  placement,
  usage,
  identity,
  operators,
  soak,
  follow,
};

export function headlines(name: string, result: Json): Headline[] {
  return (EXTRACTORS[name] ?? ((r: Json) => generic(name, r)))(result);
}

/** The chart's panels from the headline rows that name one. */
export function panels(rows: Headline[]): Panel[] {
  const bars = (chart: Headline['chart']): Bar[] =>
    rows.filter((h) => h.chart === chart && h.value !== null).map((h) => ({ label: `${h.benchmark}: ${h.metric}`, value: h.value!, highlight: h.highlight }));
  return [
    {
      title: 'Ratios against the named baselines',
      unit: '×, higher is better except operator writes',
      bars: bars('ratio'),
      references: [
        { value: 1, label: 'parity' },
        { value: 0.95, label: 'target 0.95' },
      ],
    },
    { title: 'Throughput', unit: 'per second', bars: bars('throughput') },
    { title: 'Control-plane memory', unit: 'MiB RSS', bars: bars('memory') },
  ];
}
