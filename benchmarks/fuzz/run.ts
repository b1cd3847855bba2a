/**
 * Hostile-input benchmark: property-based fuzzing of the sbatch parser (pure, in process) and of
 * every request body, path and query the API takes (against the real control plane on island
 * `local-a`, whose worker is stopped so nothing reaches SLURM).
 *
 *   npm run bench:fuzz -- [--http-cases N] [--parser-cases N] [--env-cases N] [--seed S] [--concurrency C]
 *                         [--edge-rounds N] [--edge-clients C]
 *
 * The edge part sends every deep or huge body (SHAPES) to every route that takes one, from
 * `--edge-clients` clients `--edge-rounds` times, and measures what that costs everyone else: the
 * latency of an ordinary request alone and meanwhile.
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
import { answerViolation, fuzzHttp, FuzzKeys, send, Shape, SHAPE_ROUTES, shapedBody, SHAPES } from '../../test/support/hostile-input';
import { fuzzParser } from '../../test/support/hostile-parser';
import { fuzzEnvironmentHttp, fuzzEnvironmentPolicy } from '../../test/support/hostile-environment';
import { ManualNode } from '../../test/support/manual-node';

interface Settings {
  httpCases: number;
  parserCases: number;
  envCases: number;
  seed: number;
  concurrency: number;
  edgeRounds: number;
  edgeClients: number;
}

function parseArgs(argv: string[]): Settings {
  const settings: Settings = { httpCases: 100_000, parserCases: 200_000, envCases: 20_000, seed: 20261125, concurrency: 16, edgeRounds: 3, edgeClients: 4 };
  const flags: Record<string, keyof Settings> = {
    '--http-cases': 'httpCases',
    '--parser-cases': 'parserCases',
    '--env-cases': 'envCases',
    '--seed': 'seed',
    '--concurrency': 'concurrency',
    '--edge-rounds': 'edgeRounds',
    '--edge-clients': 'edgeClients',
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
    for (const [label, id] of [
      ['theirs', theirs],
      ['missing', missing],
    ] as const) {
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

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
function latency(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const ms = (value: number) => +value.toFixed(2);
  return { count: sorted.length, p50Ms: ms(percentile(sorted, 50)), p99Ms: ms(percentile(sorted, 99)), maxMs: ms(sorted[sorted.length - 1] ?? 0) };
}

/**
 * The API's own event-loop delay since the last scrape (prom-client resets its histogram on each
 * /metrics), so it is measured inside the server, apart from the load the benchmark's clients
 * put on this process.
 */
async function eventLoopDelaySinceLastScrape(plane: ControlPlane) {
  const text = (await plane.request('GET', '/metrics', null)).text;
  const gauge = (name: string) => {
    const value = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`/metrics has no ${name}`);
    return +(Number(value) * 1000).toFixed(2);
  };
  return {
    p50Ms: gauge('nodejs_eventloop_lag_p50_seconds'),
    p99Ms: gauge('nodejs_eventloop_lag_p99_seconds'),
    maxMs: gauge('nodejs_eventloop_lag_max_seconds'),
  };
}

/**
 * What deep and huge bodies cost everyone else: the API's event-loop delay, and the latency of an
 * ordinary request (a GET of a missing job: authentication and one indexed lookup) sent back to
 * back by one client, first alone, then while `clients` clients send every shaped body to every
 * route `rounds` times. A shaped body must never be accepted, and every refusal must be a problem
 * (400/413 naming a field; a route that takes large bodies may first ask for a key, 401).
 */
async function edgeLoad(plane: ControlPlane, keys: FuzzKeys, rounds: number, clients: number) {
  const probeKey = keys.researcher!;
  const probeOnce = async () => {
    const started = performance.now();
    const answer = await plane.request('GET', '/v1/jobs/999999999', probeKey);
    if (answer.status !== 404) throw new Error(`the probe answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    return performance.now() - started;
  };
  await eventLoopDelaySinceLastScrape(plane);
  const alone: number[] = [];
  for (let i = 0; i < 500; i++) alone.push(await probeOnce());
  const loopAlone = await eventLoopDelaySinceLastScrape(plane);

  const cases = Array.from({ length: rounds }, () =>
    SHAPE_ROUTES.flatMap((route) => (Object.keys(SHAPES) as Shape[]).map((shape) => ({ route, shape }))),
  ).flat();
  const byShape: Record<string, { samples: number[]; statuses: Record<string, number> }> = {};
  const violations: string[] = [];
  let next = 0;
  let hostileDone = false;
  const hostileClient = async () => {
    while (next < cases.length) {
      const { route, shape } = cases[next++];
      const started = performance.now();
      const answer = await send(
        plane.url,
        { endpoint: route.path, method: 'POST', path: route.path, caller: route.caller, raw: shapedBody(shape, route.member) },
        keys,
      );
      const stats = (byShape[shape] ??= { samples: [], statuses: {} });
      stats.samples.push(performance.now() - started);
      stats.statuses[answer.status] = (stats.statuses[answer.status] ?? 0) + 1;
      const violation = answer.status < 400 ? `accepted (${answer.status})` : answerViolation(answer);
      if (violation && violations.length < 20) violations.push(`${shape} to ${route.path}: ${violation}`);
    }
  };
  const meanwhile: number[] = [];
  const started = performance.now();
  const probing = (async () => {
    while (!hostileDone) meanwhile.push(await probeOnce());
  })();
  await Promise.all(Array.from({ length: clients }, hostileClient));
  hostileDone = true;
  await probing;
  const elapsedMs = Math.round(performance.now() - started);
  const loopMeanwhile = await eventLoopDelaySinceLastScrape(plane);
  return {
    rounds,
    clients,
    hostileRequests: cases.length,
    elapsedMs,
    eventLoopDelayAlone: loopAlone,
    eventLoopDelayMeanwhile: loopMeanwhile,
    probeAlone: latency(alone),
    probeMeanwhile: latency(meanwhile),
    byShape: Object.fromEntries(Object.entries(byShape).map(([shape, stats]) => [shape, { ...latency(stats.samples), statuses: stats.statuses }])),
    violations,
  };
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
    const edge = await edgeLoad(plane, keys, settings.edgeRounds, settings.edgeClients);
    process.stderr.write(
      `edge: ${edge.hostileRequests} deep/huge bodies in ${edge.elapsedMs} ms; API event-loop delay max ${edge.eventLoopDelayAlone.maxMs} ms alone, ` +
        `${edge.eventLoopDelayMeanwhile.maxMs} ms meanwhile; probe p99 ${edge.probeAlone.p99Ms} / ${edge.probeMeanwhile.p99Ms} ms; ${edge.violations.length} violations\n`,
    );
    const http = await fuzzHttp(plane.url, keys, {
      runs: settings.httpCases,
      seed: settings.seed,
      concurrency: settings.concurrency,
      onProgress: (done) => {
        if (done % 10_000 === 0) process.stderr.write(`http: ${done}/${settings.httpCases}\n`);
      },
    });
    const environmentHttp = await fuzzEnvironmentHttp(plane.url, alice, { runs: settings.envCases, seed: settings.seed, concurrency: settings.concurrency });
    process.stderr.write(
      `environment smuggling (http): ${environmentHttp.cases} cases in ${environmentHttp.elapsedMs} ms, ${environmentHttp.violations.length} violations\n`,
    );
    const result = {
      benchmark: 'fuzz',
      at: new Date().toISOString(),
      baseline: 'zero violations',
      settings,
      parser,
      http: { ...http, casesPerSecond: http.elapsedMs > 0 ? Math.round((http.cases / http.elapsedMs) * 1000) : 0 },
      isolationTiming: timing,
      environmentSmuggling: { policy: environmentPolicy, http: environmentHttp },
      edge,
      totalCases: parser.cases + http.cases + environmentPolicy.cases + environmentHttp.cases + edge.hostileRequests,
      violations:
        parser.violations.length + http.violations.length + environmentPolicy.violations.length + environmentHttp.violations.length + edge.violations.length,
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
