import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, freePort } from '../support/control-plane';
import { adminStatement } from '../support/postgres';

const DATABASE = 'archipelago_test_obsready';
const SCRAPE_TOKEN = 'obs-scrape-token-0123456789';

/**
 * Readiness against dependencies that really stop: a Redis server this suite starts and kills
 * (the shared one is never touched), and this suite's own PostgreSQL database closed to
 * connections. Readiness must fail naming the dependency, and recover when it returns.
 */
describe('readiness with real dependencies going down', { timeout: 180_000 }, () => {
  let redis: ChildProcess | null = null;
  let redisPort = 0;
  let workerMetricsPort = 0;
  let cp: ControlPlane;

  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const probe = await fetch(`http://127.0.0.1:${redisPort}`).catch((error) => error as Error);
      // Redis closes an HTTP request's connection; "connection refused" means it is not up yet.
      if (!(probe instanceof Error) || !/ECONNREFUSED/.test(String((probe as { cause?: unknown }).cause))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis-server did not start');
  };
  const stopRedis = () =>
    new Promise<void>((resolve) => {
      if (!redis || redis.exitCode !== null) return resolve();
      redis.once('exit', () => resolve());
      redis.kill('SIGKILL');
    });

  /** Polls readiness until its status is `status`; returns that answer's body. */
  const readinessBecomes = async (status: number) => {
    const deadline = Date.now() + 20_000;
    let last: { status: number; json: any } | undefined;
    while (Date.now() < deadline) {
      last = await cp.request('GET', '/health/ready', null);
      if (last.status === status) return last.json;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`readiness stayed ${last?.status}: ${JSON.stringify(last?.json)}`);
  };

  before(async () => {
    redisPort = await freePort();
    await startRedis();
    workerMetricsPort = await freePort();
    cp = new ControlPlane('obsready', {
      islands: [{ name: 'local-a' }],
      redisDb: 9,
      env: { REDIS_URL: `redis://127.0.0.1:${redisPort}/0`, ARCHIPELAGO_METRICS_TOKEN: SCRAPE_TOKEN, METRICS_PORT: String(workerMetricsPort) },
    });
    await cp.start();
  });
  after(async () => {
    await adminStatement(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await cp?.stop();
    await stopRedis();
  });

  it("is ready with every dependency up, reporting each island's SLURM", async () => {
    const body = await readinessBecomes(200);
    assert.equal(body.ready, true);
    assert.equal(body.checks.postgres.ok, true);
    assert.equal(body.checks.redis.ok, true);
    assert.deepEqual([body.checks.islands['local-a'].ok, body.checks.islands['local-a'].adapter], [true, 'rest']);
  });

  it('fails when Redis stops, naming it, and recovers when it is back', async () => {
    await stopRedis();
    const down = await readinessBecomes(503);
    assert.equal(down.ready, false);
    assert.equal(down.checks.redis.ok, false);
    assert.ok(down.checks.redis.detail, 'the failure says why');
    assert.equal(down.checks.postgres.ok, true, 'only Redis is blamed');
    assert.equal(down.checks.islands['local-a'].ok, true);
    await startRedis();
    const up = await readinessBecomes(200);
    assert.equal(up.checks.redis.ok, true);
  });

  it('fails when PostgreSQL refuses the control plane, and recovers', async () => {
    await adminStatement(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS false`);
    await adminStatement(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${DATABASE}'`);
    const down = await readinessBecomes(503);
    assert.equal(down.checks.postgres.ok, false);
    assert.ok(down.checks.postgres.detail);
    assert.equal(down.checks.redis.ok, true, 'only PostgreSQL is blamed');
    await adminStatement(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`);
    const up = await readinessBecomes(200);
    assert.equal(up.checks.postgres.ok, true);
  });

  it('with a scrape token configured, /metrics on the API and the worker wants it', async () => {
    // The worker opens its listener once it has booted, which a loaded machine can delay past the API's start.
    const workerMetrics = `http://127.0.0.1:${workerMetricsPort}/metrics`;
    for (let deadline = Date.now() + 30_000; (await fetch(workerMetrics).catch(() => null)) === null;) {
      if (Date.now() > deadline) throw new Error(`the worker never listened on ${workerMetrics}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const url of [`${cp.url}/metrics`, `http://127.0.0.1:${workerMetricsPort}/metrics`]) {
      const anonymous = await fetch(url);
      assert.equal(anonymous.status, 401, url);
      const wrong = await fetch(url, { headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(wrong.status, 401, url);
      const right = await fetch(url, { headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } });
      assert.equal(right.status, 200, url);
      assert.match(await right.text(), /^# HELP /m);
    }
    const problem = await fetch(`${cp.url}/metrics`);
    assert.match(problem.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });
});
