import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import type { RestApiVersion } from '../../src/adapters/slurm/rest/rest-api-version';
import { SlurmRejectedError, SlurmUnavailableError, type SlurmSubmitRequest } from '../../src/core/slurm/slurm-client.port';

/**
 * The REST adapter against a fake slurmrestd that replays what SLURM 24.11 really answered
 * (test/fixtures/slurm-24.11, captured from the local-c island): each request is answered with the
 * capture of the same request, so every mapping below is checked against real v0.0.40-v0.0.42 JSON.
 */
const FIXTURES = resolve(__dirname, '../../../test/fixtures/slurm-24.11');
const IDS = JSON.parse(readFileSync(join(FIXTURES, 'jobs.json'), 'utf8')).jobs as Record<string, number>;
const KEY = Buffer.from('k'.repeat(32));
const NOW = 1_796_586_960;

interface Exchange {
  status: number;
  body: unknown;
}
const capture = (version: string, name: string): Exchange => JSON.parse(readFileSync(join(FIXTURES, 'rest', version, `${name}.json`), 'utf8'));

const request: SlurmSubmitRequest = {
  script: '#!/bin/bash\ntrue\n',
  spec: { partition: 'debug', timeLimitMinutes: 5, memPerNodeMb: 256, hold: true },
  workingDirectory: '/home/alice',
  environment: { PATH: '/bin', GREETING: 'a=b' },
  comment: 'archipelago:x:job=1',
};

for (const version of ['v0.0.40', 'v0.0.41', 'v0.0.42'] as const) {
  describe(`RestSlurmClient speaking ${version} to SLURM 24.11 (captured answers)`, () => {
    let server: Server;
    let client: RestSlurmClient;
    const seen: Array<{ method: string; url: string; body: string }> = [];
    /** Which capture answers the next request. */
    let answer: (method: string, url: string) => Exchange;

    before(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() });
          // v0.0.38 and newer versions than the island serves answer 404, as slurmrestd 24.11 does.
          const served = new RegExp(`^/(slurm|slurmdb)/${version.replaceAll('.', '\\.')}/`).test(req.url ?? '');
          const { status, body } = served ? answer(req.method ?? '', req.url ?? '') : { status: 404, body: 'Not Found' };
          res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
          res.end(typeof body === 'string' ? body : JSON.stringify(body));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      client = new RestSlurmClient(
        { readUser: 'archipelago', rest: { url, jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 2000 } },
        { clock: () => NOW * 1000 },
      );
    });
    after(async () => {
      await client.close();
      await new Promise<void>((r) => server.close(() => r()));
    });

    test('finds the newest version the island serves, and pings it', async () => {
      answer = () => capture(version, 'ping');
      assert.deepEqual(await client.ping(), { up: true, hostname: 'vm', version: '24.11.5' });
      assert.equal(await client.apiVersion(), version);
      const probes = seen.map((s) => s.url).filter((u) => u.endsWith('/ping/'));
      const newer = ['v0.0.42', 'v0.0.41', 'v0.0.40'].slice(0, ['v0.0.42', 'v0.0.41', 'v0.0.40'].indexOf(version));
      assert.deepEqual(probes, [...newer.map((v) => `/slurm/${v}/ping/`), `/slurm/${version}/ping/`, `/slurm/${version}/ping/`]);
    });

    test('job records: wrapped numbers, state arrays, exit-code objects, array tasks', async () => {
      answer = () => capture(version, 'jobs');
      const snapshot = await client.listJobs();
      assert.ok(snapshot);
      assert.equal(snapshot.asOf, NOW);
      const byId = new Map(snapshot.jobs.map((j) => [j.jobId, j]));
      const failed = byId.get(IDS.failed)!;
      assert.deepEqual([failed.state, failed.exitCode, failed.exitSignal, failed.userName], ['FAILED', 3, null, 'alice']);
      assert.equal(failed.comment, 'archipelago:fixtures:job=failed');
      assert.ok(failed.submitTime! > 1_700_000_000 && failed.endTime! >= failed.startTime!);
      const cancelled = byId.get(IDS.cancelled)!;
      assert.deepEqual([cancelled.state, cancelled.exitCode, cancelled.exitSignal], ['CANCELLED', 0, 15]);
      const held = byId.get(IDS.held)!;
      assert.deepEqual([held.state, held.stateReason, held.exitCode, held.startTime], ['PENDING', 'JobHeldUser', null, null]);
      const tasks = snapshot.jobs
        .filter((j) => j.arrayJobId === IDS.array)
        .map((j) => j.arrayTaskId)
        .sort();
      assert.deepEqual(tasks, [0, 1, 2]);
      assert.equal(byId.get(IDS.multi)!.arrayJobId, undefined);
      assert.equal(byId.get(IDS.multi)!.nodes, 'local-c-n[1-2]');
    });

    test('a running job, and getJob of an array master returns every task', async () => {
      answer = () => capture(version, 'job-multi-running');
      const [running] = await client.getJob(IDS.multi);
      assert.deepEqual([running.state, running.exitCode, running.batchHost !== ''], ['RUNNING', null, true]);
      answer = () => capture(version, 'job-array');
      assert.equal((await client.getJob(IDS.array)).length, 3);
    });

    test('follow: "nothing changed" is null; the query is one this version parses', async () => {
      answer = () => capture(version, 'jobs-update-time-unchanged');
      assert.equal(await client.listJobs(NOW - 30), null);
      const query = seen.at(-1)!.url.split('?')[1];
      assert.equal(query, version === 'v0.0.42' ? `update_time=${NOW - 30}` : 'update_time=now-30');
      answer = () => capture(version, 'jobs-update-time-changed');
      assert.ok(((await client.listJobs(NOW - 30))?.jobs.length ?? 0) >= 5);
    });

    test('follow by id: jobStates repeats job_id, maps "<id>_<task>" entries, leaves unknown ids out', async () => {
      answer = () => capture(version, 'jobs-state-some');
      const states = await client.jobStates([IDS.array, IDS.multi, 999999, IDS.held]);
      assert.equal(seen.at(-1)!.url, `/slurm/${version}/jobs/state/?job_id=${IDS.array}&job_id=${IDS.multi}&job_id=999999&job_id=${IDS.held}`);
      assert.ok(states);
      assert.deepEqual(
        states.find((s) => s.jobId === IDS.held),
        { jobId: IDS.held, state: 'PENDING' },
      );
      assert.ok(states.filter((s) => s.arrayTaskId !== undefined).length >= 3, JSON.stringify(states));
      assert.ok(
        states.every((s) => s.jobId !== 999999 && /^[A-Z_]+$/.test(s.state)),
        JSON.stringify(states),
      );
      // no ids: nothing is asked (jobs/state/ without ids would list every job's state)
      const asked = seen.length;
      assert.deepEqual(await client.jobStates([]), []);
      assert.equal(seen.length, asked);
    });

    test('submit: environment as a list, wrapped numbers; rejections carry SLURM codes', async () => {
      answer = () => capture(version, 'submit');
      const accepted = await client.submit('alice', request);
      assert.equal(accepted.jobId, (capture(version, 'submit').body as { job_id: number }).job_id);
      const sent = JSON.parse(seen.at(-1)!.body);
      // the job's own variables, then those sbatch itself would add (the submit host is the controller a ping named)
      assert.deepEqual(sent.job.environment.slice(0, 5), [
        'PATH=/bin',
        'GREETING=a=b',
        'SLURM_GET_USER_ENV=1',
        'SLURM_PRIO_PROCESS=0',
        'SLURM_SUBMIT_DIR=/home/alice',
      ]);
      assert.match(sent.job.environment[5], /^SLURM_SUBMIT_HOST=\S+$/);
      assert.equal(sent.job.script, request.script);
      assert.equal(sent.job.current_working_directory, '/home/alice');
      assert.deepEqual(sent.job.time_limit, { set: true, infinite: false, number: 5 });
      assert.deepEqual(sent.job.memory_per_node, { set: true, infinite: false, number: 256 });
      assert.equal(sent.job.hold, true);
      answer = () => capture(version, 'submit-unknown-partition');
      await assert.rejects(client.submit('alice', request), (e: unknown) => e instanceof SlurmRejectedError && e.code === 2000);
      answer = () => capture(version, 'submit-no-script');
      await assert.rejects(client.submit('alice', request), (e: unknown) => e instanceof SlurmRejectedError && e.httpStatus === 422);
    });

    test('cancel: an unknown job is no error; a refusal is one where the version says so', async () => {
      answer = () => capture(version, 'cancel-unknown-job');
      await client.cancel('alice', 999_999);
      answer = () => capture(version, 'cancel-held-as-other-user');
      if (version === 'v0.0.42') {
        await assert.rejects(client.cancel('bob', IDS.held), (e: unknown) => e instanceof SlurmRejectedError && e.code === 2002);
      } else {
        await client.cancel('bob', IDS.held); // v0.0.40/41 answer a refused cancel with nothing
      }
    });

    test('a token slurmctld refuses (HTTP 511) is an unavailable island, not a verdict on the request', async () => {
      answer = () => capture(version, 'bad-token');
      await assert.rejects(client.listJobs(), (e: unknown) => e instanceof SlurmUnavailableError && /HTTP 511/.test(e.message));
    });

    test('nodes and accounting records', async () => {
      answer = () => capture(version, 'nodes');
      const nodes = await client.listNodes();
      assert.deepEqual(
        nodes.map((n) => [n.name, n.state, n.cpus, n.idleCpus, n.realMemoryMb]),
        [
          ['local-c-n1', 'IDLE', 4, 4, 2000],
          ['local-c-n2', 'IDLE', 4, 4, 2000],
          ['local-c-n3', 'IDLE', 4, 4, 2000],
        ],
      );
      assert.deepEqual(nodes[0].partitions, ['debug', 'short']);
      answer = () => capture(version, 'slurmdb-job-multi');
      const [run] = await client.runsOf([IDS.multi]);
      assert.match(seen.at(-1)!.url, new RegExp(`^/slurmdb/${version}/jobs/\\?step=${IDS.multi}$`));
      assert.deepEqual([run.state, run.user, run.comment], ['COMPLETED', 'alice', 'archipelago:fixtures:job=multi']);
      assert.deepEqual(run.nodes, ['local-c-n1', 'local-c-n2']);
      assert.deepEqual([run.allocated.cpu, run.allocated.memMb, run.allocated.nodes], [2, 512, 2]);
      assert.ok(run.steps.some((s) => s.id === `${IDS.multi}.batch`));
      answer = () => capture(version, 'slurmdb-job-array');
      const runs = await client.runsOf([IDS.array]);
      assert.deepEqual(runs.map((r) => r.arrayTaskId).sort(), [0, 1, 2]);
    });
  });
}

describe('RestSlurmClient version choice', () => {
  test('a configured version is spoken without asking; an island serving none of ours is unavailable', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(404).end('Not Found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const rest = (apiVersion?: RestApiVersion) =>
      new RestSlurmClient({ readUser: 'archipelago', rest: { url, apiVersion, jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 2000 } });
    const configured = rest('v0.0.41');
    assert.equal(await configured.apiVersion(), 'v0.0.41');
    assert.deepEqual(seen, []);
    const auto = rest();
    await assert.rejects(
      auto.apiVersion(),
      (e: unknown) => e instanceof SlurmUnavailableError && /serves none of v0\.0\.42, v0\.0\.41, v0\.0\.40, v0\.0\.38/.test(e.message),
    );
    assert.deepEqual(seen, ['/slurm/v0.0.42/ping/', '/slurm/v0.0.41/ping/', '/slurm/v0.0.40/ping/', '/slurm/v0.0.38/ping/']);
    await Promise.all([configured.close(), auto.close()]);
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('jobStates is null where slurmrestd cannot answer by id: v0.0.38 (nothing sent), a jobs/state it does not serve (asked once)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(404).end('Not Found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const rest = (apiVersion: RestApiVersion) =>
      new RestSlurmClient({ readUser: 'archipelago', rest: { url, apiVersion, jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 2000 } });
    const old = rest('v0.0.38');
    assert.equal(await old.jobStates([1, 2]), null);
    assert.deepEqual(seen, []);
    const slurm2311 = rest('v0.0.40');
    assert.equal(await slurm2311.jobStates([1, 2]), null);
    assert.equal(await slurm2311.jobStates([3]), null);
    assert.deepEqual(seen, ['/slurm/v0.0.40/jobs/state/?job_id=1&job_id=2']);
    await Promise.all([old.close(), slurm2311.close()]);
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('an island upgraded under a running client: a path no longer served makes it ask again', async () => {
    let served = 'v0.0.38';
    const server = createServer((req, res) => {
      if (!req.url?.startsWith(`/slurm/${served}/`)) return void res.writeHead(404).end('Not Found');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ pings: [{ mode: 'primary', hostname: 'c', ping: 'UP', pinged: 'UP' }], errors: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new RestSlurmClient({
      readUser: 'archipelago',
      rest: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 2000 },
    });
    assert.equal(await client.apiVersion(), 'v0.0.38');
    served = 'v0.0.42';
    await assert.rejects(client.listNodes(), SlurmUnavailableError);
    assert.equal(await client.apiVersion(), 'v0.0.42');
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
