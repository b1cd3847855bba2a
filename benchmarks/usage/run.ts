/**
 * Accounting benchmark: N short jobs through the real control plane on the accounting island acct-a
 * (index 5, slurmdbd; started by test/support/accounting-island.ts if it is not up), then how fast
 * their signed usage records appear.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/usage/run.js [--jobs N] [--timeout-seconds S] [--no-write]
 *
 * Uses Redis DB 11 and the database `bench_usage` (dropped and recreated). Reports (JSON on stdout,
 * also benchmarks/results/usage-<timestamp>.json):
 *   - endToRecordSeconds p50/p95/max: a job's `ended_at` (the follower saw it end) to its record's commit;
 *   - accountedAfterLastEndMs: the last record's commit after the last job ended;
 *   - recordsPerSecond while records were being written; duplicates (must be 0);
 *   - baseline `slurmdbd`: the raw accounting query the worker makes, for 1 id and for N ids
 *     (`GET /slurmdb/v0.0.38/jobs?step=…` as the read user): no accounting pipeline can beat N / that.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { ensureAccountingIsland } from '../../test/support/accounting-island';
import { ControlPlane } from '../../test/support/control-plane';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  jobs: number;
  timeoutSeconds: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { jobs: 200, timeoutSeconds: 300, write: true };
  eachFlag(argv, { integers: true }, (flag, num) => {
    switch (flag) {
      case '--jobs':
        s.jobs = num(1, 5000);
        break;
      case '--timeout-seconds':
        s.timeoutSeconds = num(10, 3600);
        break;
      case '--no-write':
        s.write = false;
        break;
      default:
        throw new Error(`unknown argument ${flag} (usage: [--jobs N] [--timeout-seconds S] [--no-write])`);
    }
  });
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: Math.round((performance.now() - t0) * 10) / 10, value };
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const { islandsFile } = ensureAccountingIsland('acct-a', 5);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'usage-bench-')), 'provider.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const cp = new ControlPlane('usage-bench', {
    islands: [{ name: 'acct-a' }],
    islandsSource: islandsFile,
    databaseName: 'bench_usage',
    redisDb: 11,
    env: { ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: keyFile },
  });
  await cp.start();
  const db = new Client({ connectionString: cp.databaseUrl });
  try {
    await db.connect();
    const alice = await cp.researcher('alice', 'alice');
    for (let i = 0; i < s.jobs; i++) {
      const res = await cp.request('POST', '/v1/jobs', alice.key, { script: '#!/bin/bash\ntrue\n', options: { time: 1, 'job-name': `usage-bench-${i}` } });
      if (res.status !== 202) throw new Error(`submit ${i}: ${res.status} ${res.text}`);
    }
    const count = async (sql: string) => (await db.query(sql)).rows[0].n as number;
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    while ((await count('SELECT count(*)::int AS n FROM usage_records')) < s.jobs) {
      if (Date.now() > deadline)
        throw new Error(`timed out: ${await count('SELECT count(*)::int AS n FROM usage_records')} of ${s.jobs} accounted\n${cp.recentLogs()}`);
      await sleep(100);
    }
    const [stats] = (
      await db.query(`
        SELECT percentile_cont(ARRAY[0.5, 0.95, 1.0]) WITHIN GROUP (ORDER BY extract(epoch FROM r.created_at - j.ended_at)) AS lag,
               extract(epoch FROM max(r.created_at) - max(j.ended_at)) * 1000 AS after_last_end_ms,
               count(*) / greatest(extract(epoch FROM max(r.created_at) - min(r.created_at)), 0.001) AS per_second
          FROM usage_records r JOIN jobs j ON j.id = r.job_id`)
    ).rows;
    const duplicates = await count('SELECT count(*)::int AS n FROM (SELECT job_id FROM usage_records GROUP BY job_id HAVING count(*) > 1) d');
    const ids = (await db.query('SELECT slurm_job_id FROM jobs ORDER BY id')).rows.map((r) => Number(r.slurm_job_id));
    const rest = new RestSlurmClient(parseIslandsFile(islandsFile)[0].connection);
    const one = await timed(() => rest.runsOf([ids[0]]));
    const all = await timed(() => rest.runsOf(ids.slice(0, 100)));
    await rest.close();
    const round = (x: number) => Math.round(x * 1000) / 1000;
    const result = {
      benchmark: 'usage',
      at: new Date().toISOString(),
      machine: machineAtEnd(machine),
      settings: s,
      endToRecordSeconds: { p50: round(stats.lag[0]), p95: round(stats.lag[1]), max: round(stats.lag[2]) },
      accountedAfterLastEndMs: Math.round(stats.after_last_end_ms),
      recordsPerSecond: round(Number(stats.per_second)),
      duplicates,
      baseline: { slurmdbd: { oneIdMs: one.ms, hundredIdsMs: all.ms, hundredIdsRuns: all.value.length } },
    };
    const json = JSON.stringify(result, null, 2);
    console.log(json);
    console.error(
      `usage: ${s.jobs} jobs, end→record p50 ${result.endToRecordSeconds.p50} s, ${result.recordsPerSecond} records/s, duplicates ${duplicates}; slurmdbd 1 id ${one.ms} ms, 100 ids ${all.ms} ms`,
    );
    if (s.write) {
      const dir = resolve(__dirname, '../../../benchmarks/results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `usage-${result.at.replace(/[:.]/g, '-')}.json`), json + '\n');
    }
    if (duplicates !== 0) process.exitCode = 1;
  } finally {
    await db.end().catch(() => undefined);
    await cp.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
