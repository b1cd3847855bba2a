/**
 * Collects the newest results file of every benchmark in benchmarks/results/ into summary.json,
 * and writes REPORT.md (a table of headline numbers and their baselines) with chart.svg.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/report/run.js [--results DIR] [--prune]
 *
 * --prune deletes superseded results files: every one that is neither the newest of its benchmark
 * nor named in README.md, docs/ or benchmarks/README.md (numbers quoted there keep their evidence).
 *
 * A benchmark is named by its file's prefix (`submit-<timestamp>.json`, `operators.json`), so one
 * added later (e.g. ledger) is picked up without a change here; headlines.ts knows the known ones.
 */
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { describeTarget, headlines, panels, verdict, type Headline } from './headlines';
import { formatValue, renderChart } from './svg-chart';

const OUTPUTS = new Set(['summary.json']);
/** Report order; any other benchmark follows in name order. */
const ORDER = ['accept', 'submit', 'memory', 'ledger', 'placement', 'topology', 'stability', 'usage', 'identity', 'operators'];

export interface Newest {
  name: string;
  file: string;
  at: string;
  result: unknown;
}

export function benchmarkName(file: string): string | null {
  const match = /^([a-z][a-z0-9_]*)(?:-.*)?\.json$/.exec(file);
  return match && !OUTPUTS.has(file) ? match[1] : null;
}

/** The newest results file per benchmark, by the time recorded inside it (else the file's mtime). */
export function newestResults(dir: string): Newest[] {
  const newest = new Map<string, Newest>();
  for (const file of readdirSync(dir)) {
    const name = benchmarkName(file);
    if (!name) continue;
    let result: any;
    try {
      result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch {
      continue; // a file being written, or not ours
    }
    const at = String(result?.startedAt ?? result?.at ?? result?.finishedAt ?? statSync(join(dir, file)).mtime.toISOString());
    const seen = newest.get(name);
    if (!seen || at > seen.at) newest.set(name, { name, file, at, result });
  }
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  return [...newest.values()].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/**
 * The load a results file recorded, if any: 1-minute averages at start → end. A load taken only at
 * the end says "at end": it counts the benchmark's own processes and is no sign of other work.
 */
export function loadOf(result: unknown): string {
  const machine = (result as { machine?: Record<string, unknown> } | null)?.machine ?? {};
  const first = (value: unknown) => (Array.isArray(value) && typeof value[0] === 'number' ? value[0].toFixed(2) : null);
  const start = first(machine.loadavgAtStart);
  const end = first(machine.loadavgAtEnd ?? machine.loadavg);
  if (start === null) return end === null ? '—' : `at end ${end}`;
  return end === null ? start : `${start} → ${end}`;
}

/** Results files of `dir` that neither are the newest of their benchmark nor are quoted. */
export function supersededResults(dir: string, newest: Newest[], quoted: ReadonlySet<string>): string[] {
  const kept = new Set(newest.map((n) => n.file));
  return readdirSync(dir).filter((file) => benchmarkName(file) !== null && !kept.has(file) && !quoted.has(file));
}

/** Every results file name the documentation mentions. */
export function quotedResults(repo: string): Set<string> {
  const texts: string[] = [];
  const read = (path: string) => existsSync(path) && texts.push(readFileSync(path, 'utf8'));
  read(join(repo, 'README.md'));
  read(join(repo, 'benchmarks', 'README.md'));
  const docs = join(repo, 'docs');
  if (existsSync(docs)) for (const file of readdirSync(docs)) if (file.endsWith('.md')) read(join(docs, file));
  return new Set(texts.join('\n').match(/[a-z][a-z0-9_]*-\d{4}-\d{2}-\d{2}T[\d-]+Z\.json/g) ?? []);
}

function markdown(found: Newest[], rows: Headline[], generatedAt: string): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const load = loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
  const lines = [
    '# Benchmark report',
    '',
    `Generated ${generatedAt} on ${hostname()} (${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}, load ${load}) ` +
      'by `benchmarks/report/run.ts` (the last step of `npm run bench`) from the newest results file of each benchmark, measured when the Files table says. ' +
      'The machine is shared: compare ratios measured in the same run, not absolute numbers across runs. ' +
      'What each number means and how it is measured: [benchmarks/README.md](../README.md).',
    '',
    '![headline ratios, throughputs and memory](chart.svg)',
    '',
    `Targets: ${rows.filter((h) => verdict(h) === 'PASS').length} PASS, ${rows.filter((h) => verdict(h) === 'FAIL').length} FAIL.`,
    '',
    '| benchmark | metric | value | unit | against | verdict |',
    '|---|---|---:|---|---|---|',
    ...rows.map(
      (h) =>
        `| ${h.benchmark} | ${cell(h.metric)} | ${h.value === null ? '—' : formatValue(h.value)} | ${cell(h.unit)} | ` +
        `${cell(h.target ? describeTarget(h.target) : (h.against ?? ''))} | ${verdict(h)} |`,
    ),
    '',
    '## Files',
    '',
    "Load is the machine's 1-minute load average as the benchmark recorded it, at its start and at its end. The start says whether other work shared the cores (on 2 CPUs, anything above 2); the end also counts the benchmark's own processes (SLURM, PostgreSQL, the control plane it runs).",
    '',
    '| benchmark | measured at | load | results file |',
    '|---|---|---|---|',
    ...found.map((f) => `| ${f.name} | ${f.at} | ${loadOf(f.result)} | [${f.file}](${f.file}) |`),
    '',
  ];
  return lines.join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const at = args.indexOf('--results');
  const dir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : resolve(__dirname, '../../../benchmarks/results');
  let found = newestResults(dir);
  if (args.includes('--prune')) {
    const gone = supersededResults(dir, found, quotedResults(resolve(__dirname, '../../..')));
    for (const file of gone) unlinkSync(join(dir, file));
    if (gone.length > 0) console.error(`pruned ${gone.length} superseded results file(s)`);
    found = newestResults(dir);
  }
  const rows = found.flatMap((f) => headlines(f.name, f.result));
  const generatedAt = new Date().toISOString();
  const summary = {
    generatedAt,
    machine: { hostname: hostname(), cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    headlines: rows,
    benchmarks: Object.fromEntries(found.map((f) => [f.name, { file: f.file, at: f.at, result: f.result }])),
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(dir, 'chart.svg'), renderChart(`Archipelago benchmarks, ${generatedAt.slice(0, 10)}`, panels(rows)));
  writeFileSync(join(dir, 'REPORT.md'), markdown(found, rows, generatedAt));
  console.log(JSON.stringify({ summary: join(dir, 'summary.json'), benchmarks: found.map((f) => `${f.name}: ${f.file}`) }));
}

if (require.main === module) main();
