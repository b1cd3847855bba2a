/**
 * Hostile-input benchmark: property-based fuzzing of the sbatch parser (pure, in process) and of
 * every request body, path and query the API takes (against the real control plane on island
 * `local-a`, whose worker is stopped so nothing reaches SLURM).
 *
 *   npm run bench:fuzz -- [--http-cases N] [--parser-cases N] [--env-cases N] [--seed S] [--concurrency C]
 *
 * Prints JSON (also written to benchmarks/results/fuzz-<timestamp>.json) and a short summary;
 * exits 1 when any case crashed the parser or got a 5xx / a malformed problem from the API, or when
 * an environment-smuggling case (test/support/hostile-environment.ts: SLURM and loader variables
 * through every channel) was not refused with a 400 naming the variable, in process or over HTTP.
 * Baseline: zero violations (see benchmarks/README.md). Uses Redis DB 13 and database `hard_fuzz_bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ControlPlane, REPO } from '../../test/support/control-plane';
import { fuzzHttp } from '../../test/support/hostile-input';
import { fuzzParser } from '../../test/support/hostile-parser';
import { fuzzEnvironmentHttp, fuzzEnvironmentPolicy } from '../../test/support/hostile-environment';
import { ManualNode } from '../../test/support/manual-node';

interface Settings {
  httpCases: number;
  parserCases: number;
  envCases: number;
  seed: number;
  concurrency: number;
}

function parseArgs(argv: string[]): Settings {
  const settings: Settings = { httpCases: 100_000, parserCases: 200_000, envCases: 20_000, seed: 20261125, concurrency: 16 };
  const flags: Record<string, keyof Settings> = {
    '--http-cases': 'httpCases',
    '--parser-cases': 'parserCases',
    '--env-cases': 'envCases',
    '--seed': 'seed',
    '--concurrency': 'concurrency',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = flags[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isSafeInteger(value) || value < 0) throw new Error(`usage: ${Object.keys(flags).join(' N | ')} N`);
    settings[key] = value;
  }
  return settings;
}

/**
 * Whether another tenant's job can be told from a missing one by timing: alternating requests for
 * bob's job id and for an id that does not exist, both by alice, both answered 404.
 */
async function isolationTiming(plane: ControlPlane, alice: string, bob: string, rounds: number) {
  const submitted = await plane.request('POST', '/v1/jobs', bob, { script: '#!/bin/bash\ntrue\n', options: { hold: true } });
  const theirs = submitted.json.id as string;
  const missing = String(Number(theirs) + 1_000_000);
  const samples: Record<'theirs' | 'missing', number[]> = { theirs: [], missing: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [label, id] of [['theirs', theirs], ['missing', missing]] as const) {
      const started = performance.now();
      const answer = await plane.request('GET', `/v1/jobs/${id}`, alice);
      samples[label].push(performance.now() - started);
      if (answer.status !== 404) throw new Error(`GET ${label} job answered ${answer.status}`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const theirsMs = +median(samples.theirs).toFixed(3);
  const missingMs = +median(samples.missing).toFixed(3);
  return { rounds, medianMs: { theirs: theirsMs, missing: missingMs }, differenceMs: +(theirsMs - missingMs).toFixed(3) };
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const parser = fuzzParser({ runs: settings.parserCases, seed: settings.seed });
  process.stderr.write(`parser: ${parser.cases} cases, ${parser.violations.length} violations, ${parser.elapsedMs} ms\n`);
  const environmentPolicy = fuzzEnvironmentPolicy({ runs: settings.envCases, seed: settings.seed });
  process.stderr.write(`environment smuggling (policy): ${environmentPolicy.cases} cases, ${environmentPolicy.violations.length} violations\n`);

  const plane = new ControlPlane('fuzz-bench', {
    islands: [{ name: 'local-a' }],
    redisDb: 13,
    databaseName: 'hard_fuzz_bench',
    // The limiter is tested on its own; here it would only turn cases into 429s.
    env: { ARCHIPELAGO_RATE_LIMITS: 'off' },
  });
  await plane.start();
  plane.killWorker();
  try {
    const provider = (await plane.provider('acme')).key;
    const node = new ManualNode(plane);
    await node.join(provider);
    const alice = (await plane.researcher('alice', 'alice')).key;
    const timing = await isolationTiming(plane, alice, (await plane.researcher('bob', 'bob')).key, 2000);
    process.stderr.write(`isolation timing: ${JSON.stringify(timing)}\n`);
    const keys = {
      researcher: alice,
      provider,
      admin: plane.adminKey,
      none: null,
      node: { id: node.id, key: node.key },
    };
    const http = await fuzzHttp(plane.url, keys, {
      runs: settings.httpCases,
      seed: settings.seed,
      concurrency: settings.concurrency,
      onProgress: (done) => {
        if (done % 10_000 === 0) process.stderr.write(`http: ${done}/${settings.httpCases}\n`);
      },
    });
    const environmentHttp = await fuzzEnvironmentHttp(plane.url, alice, { runs: settings.envCases, seed: settings.seed, concurrency: settings.concurrency });
    process.stderr.write(`environment smuggling (http): ${environmentHttp.cases} cases in ${environmentHttp.elapsedMs} ms, ${environmentHttp.violations.length} violations\n`);
    const result = {
      benchmark: 'fuzz',
      at: new Date().toISOString(),
      baseline: 'zero violations',
      settings,
      parser,
      http: { ...http, casesPerSecond: Math.round((http.cases / http.elapsedMs) * 1000) },
      isolationTiming: timing,
      environmentSmuggling: { policy: environmentPolicy, http: environmentHttp },
      totalCases: parser.cases + http.cases + environmentPolicy.cases + environmentHttp.cases,
      violations: parser.violations.length + http.violations.length + environmentPolicy.violations.length + environmentHttp.violations.length,
    };
    const out = JSON.stringify(result, null, 2);
    mkdirSync(join(REPO, 'benchmarks/results'), { recursive: true });
    writeFileSync(join(REPO, 'benchmarks/results', `fuzz-${result.at.replace(/[:.]/g, '-')}.json`), out);
    process.stdout.write(`${out}\n`);
    process.stderr.write(
      `http: ${http.cases} cases in ${http.elapsedMs} ms (${result.http.casesPerSecond}/s), ${http.violations.length} distinct violations\n`,
    );
    if (result.violations > 0) process.exitCode = 1;
  } finally {
    await plane.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(2);
});
