/**
 * Identity benchmark: what wallet login and the identity gates cost the API.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/identity/run.js [--jobs N] [--logins L] [--concurrency C] [--no-write]
 *
 * Runs the real API (worker killed at once, so nothing reaches SLURM) against the chain double on
 * loopback, database `bench_identity`, Redis DB 7. Rounds:
 *   1. logins: L wallet logins (challenge, ADR-036 signature by a cosmjs wallet, login), C in flight;
 *   2. submit, API key of a principal without a chain address (no gate: the baseline);
 *   3. submit, wallet session, VEID score cached (the default 30 s);
 *   4. submit, wallet session, VEID cache off (one chain query per submission).
 * Each submit round sends N `POST /v1/jobs` (held jobs) from C clients after 100 warm-up requests.
 * Reports (JSON on stdout and benchmarks/results/identity-<timestamp>.json) throughput, latency
 * percentiles and chain queries per round; the baseline is round 2.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { walletLogin } from '../../src/apps/cli/wallet-login-client';
import { ControlPlane } from '../../test/support/control-plane';
import { FakeChain } from '../../test/support/fake-chain/fake-chain';
import { newWallet } from '../../test/support/wallets';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

interface Settings {
  jobs: number;
  logins: number;
  concurrency: number;
  write: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = { jobs: 1000, logins: 200, concurrency: 16, write: true };
  eachFlag(argv, { integers: true }, (flag, num) => {
    if (flag === '--jobs') s.jobs = num(1, 100000);
    else if (flag === '--logins') s.logins = num(1, 100000);
    else if (flag === '--concurrency') s.concurrency = num(1, 100000);
    else if (flag === '--no-write') s.write = false;
    else throw new Error(`unknown argument ${flag}`);
  });
  return s;
}

interface Round {
  name: string;
  requests: number;
  seconds: number;
  perSecond: number;
  errors: number;
  latencyMs: Record<string, number>;
  chainQueries?: number;
}

async function closedLoop(name: string, n: number, concurrency: number, call: () => Promise<boolean>): Promise<Round> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t0 = performance.now();
        if (!(await call())) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2));
  return {
    name,
    requests: n,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Number((n / seconds).toFixed(1)),
    errors,
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: Number(latencies[latencies.length - 1].toFixed(2)) },
  };
}

async function withControlPlane<T>(chain: FakeChain, veidCacheMs: string, body: (cp: ControlPlane) => Promise<T>): Promise<T> {
  const cp = new ControlPlane('identity_bench', {
    databaseName: 'bench_identity',
    islands: [{ name: 'local-a' }],
    redisDb: 7,
    env: { CHAIN_RPC_URL: chain.url, CHAIN_ID: chain.chainId, ARCHIPELAGO_VEID_CACHE_MS: veidCacheMs, ARCHIPELAGO_LOGIN_DOMAIN: 'bench.local' },
  });
  await cp.start();
  cp.killWorker();
  try {
    return await body(cp);
  } finally {
    await cp.stop();
  }
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  const chain = new FakeChain({ chainId: 'virtengine-bench-1' });
  await chain.start();
  const wallet = await newWallet();
  chain.setScore(wallet.address, 80);
  const job = { script: '#!/bin/bash\ntrue\n', options: { hold: true } };
  const rounds: Round[] = [];
  const submitRound = async (cp: ControlPlane, name: string, token: string) => {
    const send = async () => (await cp.request('POST', '/v1/jobs', token, job)).status === 202;
    await closedLoop('warm-up', 100, settings.concurrency, send);
    const before = chain.count('/virtengine.veid.v1.Query/IdentityScore');
    const round = await closedLoop(name, settings.jobs, settings.concurrency, send);
    round.chainQueries = chain.count('/virtengine.veid.v1.Query/IdentityScore') - before;
    rounds.push(round);
    console.error(
      `${name}: ${round.perSecond}/s, p50 ${round.latencyMs.p50} ms, p99 ${round.latencyMs.p99} ms, ${round.errors} errors, ${round.chainQueries} chain queries`,
    );
  };
  try {
    await withControlPlane(chain, '30000', async (cp) => {
      await cp.request('PUT', `/v1/wallet-accounts/${wallet.address}`, cp.adminKey, { slurmUser: 'alice' });
      const logins = await closedLoop('wallet login (challenge + sign + login)', settings.logins, Math.min(settings.concurrency, 8), async () => {
        try {
          await walletLogin(cp.url, wallet.amino);
          return true;
        } catch {
          return false;
        }
      });
      rounds.push(logins);
      console.error(`logins: ${logins.perSecond}/s, p50 ${logins.latencyMs.p50} ms, p99 ${logins.latencyMs.p99} ms`);
      const legacy = await cp.researcher('bench-api-key', 'alice');
      await submitRound(cp, 'submit: API key, no chain address (baseline)', legacy.key);
      await submitRound(cp, 'submit: wallet session, VEID cached', (await walletLogin(cp.url, wallet.amino)).sessionToken);
    });
    await withControlPlane(chain, '0', async (cp) => {
      await cp.request('PUT', `/v1/wallet-accounts/${wallet.address}`, cp.adminKey, { slurmUser: 'alice' });
      await submitRound(cp, 'submit: wallet session, VEID cache off', (await walletLogin(cp.url, wallet.amino)).sessionToken);
    });
  } finally {
    await chain.stop();
  }
  const result = {
    benchmark: 'identity',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    settings,
    baseline: rounds.find((r) => r.name.includes('baseline'))?.name,
    rounds,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (settings.write) {
    const dir = resolve(__dirname, '../../../benchmarks/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `identity-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, json + '\n');
    console.error(`wrote ${file}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
