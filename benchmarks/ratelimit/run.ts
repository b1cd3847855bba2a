/**
 * What the rate limiter costs on the hot path: `POST /v1/jobs` accept rate and latency with limits
 * off (the baseline) and with the default limits on (one Redis round trip per request), in one run.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/ratelimit/run.js [--jobs N] [--concurrency C]
 *
 * The worker is stopped so nothing reaches SLURM (jobs are held and stay ACCEPTED). Uses Redis DB 13
 * and the database `hard_ratelimit_bench`. Prints JSON (also written to
 * benchmarks/results/ratelimit-<timestamp>.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { ControlPlane, REPO } from '../../test/support/control-plane';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i === -1 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function round(label: string, rateLimits: string | undefined, jobs: number, concurrency: number) {
  const plane = new ControlPlane('ratelimit-bench', {
    islands: [{ name: 'local-a' }],
    redisDb: 13,
    databaseName: 'hard_ratelimit_bench',
    env: rateLimits === undefined ? {} : { ARCHIPELAGO_RATE_LIMITS: rateLimits },
  });
  await plane.start();
  plane.killWorker();
  try {
    const { key } = await plane.researcher('alice', 'alice');
    const pool = new Pool(plane.url, { connections: concurrency });
    const body = JSON.stringify({ script: '#!/bin/bash\ntrue\n', options: { hold: true } });
    const send = async () => {
      const started = performance.now();
      const response = await pool.request({
        method: 'POST',
        path: '/v1/jobs',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
      await response.body.dump();
      return { status: response.statusCode, ms: performance.now() - started };
    };
    const run = async (n: number) => {
      const results: Array<{ status: number; ms: number }> = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < n) results.push(await send());
        }),
      );
      return results;
    };
    await run(200); // warm-up
    const started = performance.now();
    const results = await run(jobs);
    const seconds = (performance.now() - started) / 1000;
    await pool.close();
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    return {
      label,
      rateLimits: rateLimits ?? 'defaults',
      requests: results.length,
      errors: results.filter((r) => r.status !== 202).length,
      perSecond: Math.round(results.length / seconds),
      latencyMs: {
        p50: +percentile(latencies, 50).toFixed(2),
        p90: +percentile(latencies, 90).toFixed(2),
        p99: +percentile(latencies, 99).toFixed(2),
        max: +latencies[latencies.length - 1].toFixed(2),
      },
    };
  } finally {
    await plane.stop();
  }
}

async function main(): Promise<void> {
  const jobs = arg('--jobs', 3000);
  const concurrency = arg('--concurrency', 32);
  const baseline = await round('baseline: limits off', 'off', jobs, concurrency);
  const limited = await round('default limits', undefined, jobs, concurrency);
  const result = {
    benchmark: 'ratelimit',
    at: new Date().toISOString(),
    settings: { jobs, concurrency },
    baseline,
    limited,
    overhead: {
      throughput: +(limited.perSecond / baseline.perSecond - 1).toFixed(3),
      p99Ms: +(limited.latencyMs.p99 - baseline.latencyMs.p99).toFixed(2),
    },
  };
  const out = JSON.stringify(result, null, 2);
  mkdirSync(join(REPO, 'benchmarks/results'), { recursive: true });
  writeFileSync(join(REPO, 'benchmarks/results', `ratelimit-${result.at.replace(/[:.]/g, '-')}.json`), out);
  process.stdout.write(`${out}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(2);
});
