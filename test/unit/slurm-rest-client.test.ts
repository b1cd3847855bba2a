import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SlurmRejectedError, SlurmUnavailableError, type SlurmSubmitRequest } from '../../src/core/slurm/slurm-client.port';

/** The REST adapter against a scripted fake slurmrestd: wire format and status-code handling. */

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const KEY = Buffer.from('k'.repeat(32));
const meta = { plugin: { type: 'openapi/v0.0.38' }, Slurm: { release: '22.05.8' } };
const job = (id: number, extra: object = {}) => ({ job_id: id, job_state: 'COMPLETED', exit_code: 768, user_name: 'alice', name: 'j', ...extra });

describe('RestSlurmClient wire behaviour (fake slurmrestd)', () => {
  let server: Server;
  let client: RestSlurmClient;
  let url = '';
  const seen: Seen[] = [];
  let reply: (req: Seen) => { status: number; body?: unknown; text?: string } = () => ({ status: 200, body: { meta, errors: [] } });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
        seen.push(s);
        const r = reply(s);
        const text = r.text ?? (r.body !== undefined ? JSON.stringify(r.body) : '');
        res.writeHead(r.status, r.body !== undefined ? { 'content-type': 'application/json' } : { 'content-type': 'text/plain' });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    url = `http://127.0.0.1:${port}`;
    client = new RestSlurmClient(
      {
        readUser: 'archipelago',
        rest: { url: `http://127.0.0.1:${port}`, apiVersion: 'v0.0.38', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 2, timeoutMs: 1000 },
      },
      { clock: () => 1_800_000_000_500 },
    );
  });

  after(async () => {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const req: SlurmSubmitRequest = {
    script: '#!/bin/bash\ntrue\n',
    spec: { hold: true, partition: 'debug' },
    workingDirectory: '/home/alice',
    environment: { PATH: '/bin' },
    comment: 'arch:1',
  };

  test('submit: JSON body with Content-Length (never chunked), owner headers, warnings kept', async () => {
    reply = () => ({
      status: 200,
      body: {
        meta,
        errors: [{ error_code: 2042, error: 'Job is in held state, pending scheduler release' }],
        job_id: 7,
        step_id: 'BATCH',
        job_submit_user_msg: '',
      },
    });
    const res = await client.submit('alice', req);
    assert.deepEqual(res, { jobId: 7, warnings: ['Job is in held state, pending scheduler release (2042)'] });
    const s = seen.at(-1)!;
    assert.equal(s.method, 'POST');
    assert.equal(s.url, '/slurm/v0.0.38/job/submit');
    assert.equal(s.headers['transfer-encoding'], undefined);
    assert.equal(Number(s.headers['content-length']), Buffer.byteLength(s.body));
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['x-slurm-user-name'], 'alice');
    const claims = JSON.parse(Buffer.from(String(s.headers['x-slurm-user-token']).split('.')[1]!, 'base64url').toString());
    // A submission's own token expires with the 1 s timeout (at least 2 s), not the 60 s of other calls.
    assert.deepEqual(claims, { iat: 1_800_000_000, exp: 1_800_000_002, sun: 'alice' });
    assert.equal(s.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(s.body), {
      script: '#!/bin/bash\ntrue\n',
      job: {
        // sbatch's own variables; the ping answered without a controller name, so the URL's host
        environment: { PATH: '/bin', SLURM_GET_USER_ENV: '1', SLURM_PRIO_PROCESS: '0', SLURM_SUBMIT_DIR: '/home/alice', SLURM_SUBMIT_HOST: '127.0.0.1' },
        current_working_directory: '/home/alice',
        partition: 'debug',
        comment: 'arch:1',
        hold: true,
      },
    });
    assert.equal(seen.at(-2)!.url, '/slurm/v0.0.38/ping/');
  });

  test('submit: the token is minted before the ping that learns the submit host, so the submission settles when it says', async () => {
    let pinged = false;
    reply = (r) => {
      if (!r.url.endsWith('/ping/')) return { status: 200, body: { meta, errors: [], job_id: 9, step_id: 'BATCH' } };
      pinged = true;
      return { status: 200, body: { meta, errors: [], pings: [{ hostname: 'ctl2', ping: 'UP', status: 0, mode: 'primary' }] } };
    };
    // Time moves on by 10 s once the ping has been answered: a token minted after it would say so.
    const fresh = new RestSlurmClient(
      { readUser: 'archipelago', rest: { url, apiVersion: 'v0.0.38', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 1000 } },
      { clock: () => (pinged ? 1_800_000_010_000 : 1_800_000_000_000) },
    );
    try {
      await fresh.submit('alice', req);
    } finally {
      await fresh.close();
    }
    const submitted = seen.at(-1)!;
    assert.equal(seen.at(-2)!.url, '/slurm/v0.0.38/ping/');
    const claims = JSON.parse(Buffer.from(String(submitted.headers['x-slurm-user-token']).split('.')[1]!, 'base64url').toString());
    assert.equal(claims.iat, 1_800_000_000);
    assert.equal(JSON.parse(submitted.body).job.environment.SLURM_SUBMIT_HOST, 'ctl2');
  });

  test('submit: submissions made together share one ping to learn the submit host; a ping naming none is not repeated for 30 s', async () => {
    let now = 1_800_000_000_000;
    let hostname: string | undefined;
    reply = (r) =>
      r.url.endsWith('/ping/')
        ? { status: 200, body: { meta, errors: [], pings: [{ ...(hostname ? { hostname } : {}), ping: 'UP', status: 0, mode: 'primary' }] } }
        : { status: 200, body: { meta, errors: [], job_id: 9, step_id: 'BATCH' } };
    const fresh = new RestSlurmClient(
      { readUser: 'archipelago', rest: { url, apiVersion: 'v0.0.38', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 4, timeoutMs: 1000 } },
      { clock: () => now },
    );
    const pings = () => seen.filter((s) => s.url.endsWith('/ping/')).length;
    const submitHosts = (from: number) =>
      seen
        .slice(from)
        .filter((s) => s.method === 'POST')
        .map((s) => JSON.parse(s.body).job.environment.SLURM_SUBMIT_HOST);
    try {
      let before = pings();
      let from = seen.length;
      await Promise.all(Array.from({ length: 8 }, () => fresh.submit('alice', req)));
      assert.equal(pings() - before, 1, 'eight submissions, one ping');
      assert.deepEqual(submitHosts(from), Array(8).fill('127.0.0.1'), 'no controller named: the URL host');
      now += 29_000;
      before = pings();
      await fresh.submit('alice', req);
      assert.equal(pings(), before, 'within 30 s of a ping that named no controller, none again');
      now += 2_000;
      hostname = 'ctl3';
      from = seen.length;
      await Promise.all([fresh.submit('alice', req), fresh.submit('alice', req)]);
      assert.equal(pings() - before, 1, 'after 30 s, asked once more');
      assert.deepEqual(submitHosts(from), ['ctl3', 'ctl3']);
      before = pings();
      await fresh.submit('alice', req);
      assert.equal(pings(), before, 'once named, never asked again');
    } finally {
      await fresh.close();
    }
  });

  test('submit: rejected (500 without job_id, 400 parse) vs unavailable (401, 5005)', async () => {
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Invalid partition name specified', error_code: 2000 }] } });
    await assert.rejects(
      client.submit('alice', req),
      (e: unknown) => e instanceof SlurmRejectedError && e.code === 2000 && e.httpStatus === 500 && /Invalid partition/.test(e.message),
    );
    reply = () => ({ status: 200, body: { meta, errors: [{ error: 'Requested node configuration is not available', error_code: 2014 }] } });
    await assert.rejects(client.submit('alice', req), (e: unknown) => e instanceof SlurmRejectedError && e.code === 2014);
    reply = () => ({
      status: 400,
      body: {
        meta,
        errors: [
          { description: 'Unknown key "foo"', source: 'hsearch_r' },
          { error_code: 9001, error: 'Failure during parsing' },
        ],
      },
    });
    await assert.rejects(client.submit('alice', req), (e: unknown) => e instanceof SlurmRejectedError && e.code === 9001 && /Unknown key/.test(e.message));
    reply = () => ({ status: 401, text: 'Authentication failure' });
    await assert.rejects(client.submit('alice', req), (e: unknown) => e instanceof SlurmUnavailableError && /authentication/.test(e.message));
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Zero Bytes were transmitted or received', error_code: 5005 }] } });
    await assert.rejects(client.submit('alice', req), SlurmUnavailableError);
  });

  test('listJobs: read user, update_time, 304 → null, asOf from the clock', async () => {
    reply = (s) =>
      s.url.includes('update_time') ? { status: 304 } : { status: 200, body: { meta, errors: [], jobs: [job(1), job(2, { job_state: 'RUNNING' })] } };
    const snap = await client.listJobs();
    assert.equal(snap?.asOf, 1_800_000_000);
    assert.deepEqual(
      snap?.jobs.map((j) => [j.jobId, j.exitCode]),
      [
        [1, 3],
        [2, null],
      ],
    );
    assert.equal(seen.at(-1)!.headers['x-slurm-user-name'], 'archipelago');
    assert.equal(await client.listJobs(1_799_999_999), null);
    assert.equal(seen.at(-1)!.url, '/slurm/v0.0.38/jobs/?update_time=1799999999');
  });

  test('listNodes: GET /nodes/ as the read user, records mapped; errors throw', async () => {
    const node = {
      name: 'n1',
      state: 'mixed',
      state_flags: ['DRAIN'],
      cpus: 8,
      alloc_cpus: 3,
      idle_cpus: 5,
      real_memory: 16000,
      alloc_memory: 4000,
      free_memory: 9999,
      features: 'ib,avx2',
      active_features: 'ib',
      partitions: ['debug', 'short'],
      gres: 'gpu:a100:2(S:0)',
      gres_used: 'gpu:a100:1(IDX:0)',
    };
    reply = () => ({ status: 200, body: { meta, errors: [], nodes: [node] } });
    assert.deepEqual(await client.listNodes(), [
      {
        name: 'n1',
        state: 'mixed',
        stateFlags: ['DRAIN'],
        cpus: 8,
        allocCpus: 3,
        idleCpus: 5,
        realMemoryMb: 16000,
        allocMemoryMb: 4000,
        features: ['ib', 'avx2'],
        activeFeatures: ['ib'],
        partitions: ['debug', 'short'],
        gres: 'gpu:a100:2(S:0)',
        gresUsed: 'gpu:a100:1(IDX:0)',
      },
    ]);
    assert.equal(seen.at(-1)!.method, 'GET');
    assert.equal(seen.at(-1)!.url, '/slurm/v0.0.38/nodes/');
    assert.equal(seen.at(-1)!.headers['x-slurm-user-name'], 'archipelago');
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Unspecified error', error_number: -1, description: 'no nodes' }] } });
    await assert.rejects(client.listNodes(), SlurmUnavailableError);
  });

  test('getJob: records, unknown → [] (500/2017), other failures throw', async () => {
    reply = () => ({ status: 200, body: { meta, errors: [], jobs: [job(5)] } });
    assert.equal((await client.getJob(5))[0]!.jobId, 5);
    reply = () => ({
      status: 500,
      body: { meta, errors: [{ error: 'Invalid job id specified', error_number: 2017, description: '', source: 'x' }], jobs: [] },
    });
    assert.deepEqual(await client.getJob(5), []);
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Unspecified error', error_number: -1, description: 'Unable to find JobId=5' }] } });
    await assert.rejects(client.getJob(5), SlurmUnavailableError);
    await assert.rejects(client.getJob(0), RangeError);
  });

  test('cancel: DELETE as owner; unknown/finished are success; permission denied is rejected', async () => {
    reply = () => ({ status: 200, body: { meta, errors: [] } });
    await client.cancel('alice', 9);
    assert.equal(seen.at(-1)!.method, 'DELETE');
    assert.equal(seen.at(-1)!.url, '/slurm/v0.0.38/job/9');
    assert.equal(seen.at(-1)!.headers['x-slurm-user-name'], 'alice');
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Invalid job id specified', error_number: 2017 }] } });
    await client.cancel('alice', 9);
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Job/step already completing or completed', error_number: 2021 }] } });
    await client.cancel('alice', 9);
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Access/permission denied', error_number: 2002 }] } });
    await assert.rejects(client.cancel('bob', 9), (e: unknown) => e instanceof SlurmRejectedError && e.code === 2002);
  });

  test('setHold: POST {hold} with Content-Length', async () => {
    reply = () => ({ status: 200, body: { meta, errors: [] } });
    await client.setHold('alice', 11, false);
    const s = seen.at(-1)!;
    assert.equal(s.url, '/slurm/v0.0.38/job/11');
    assert.deepEqual(JSON.parse(s.body), { hold: false });
    assert.equal(Number(s.headers['content-length']), s.body.length);
    reply = () => ({ status: 500, body: { meta, errors: [{ error: 'Job has already finished', error_number: 2084 }] } });
    await assert.rejects(client.setHold('alice', 11, true), (e: unknown) => e instanceof SlurmRejectedError && e.code === 2084);
  });

  test('ping: up/down; privileged users never get a token', async () => {
    reply = () => ({ status: 200, body: { meta, errors: [], pings: [{ hostname: 'ctl', ping: 'UP', status: 0, mode: 'primary' }] } });
    assert.deepEqual(await client.ping(), { up: true, hostname: 'ctl', version: '22.05.8' });
    const before = seen.length;
    await assert.rejects(client.submit('root', req), /privileged/);
    await assert.rejects(client.cancel('slurm', 1), /privileged/);
    assert.equal(seen.length, before);
    // Once a ping named the controller, submissions count as made from it, without pinging again.
    reply = (s) => (s.url.endsWith('/ping/') ? { status: 500, text: 'no' } : { status: 200, body: { meta, errors: [], job_id: 8, step_id: 'BATCH' } });
    await client.submit('alice', req);
    assert.equal(JSON.parse(seen.at(-1)!.body).job.environment.SLURM_SUBMIT_HOST, 'ctl');
    assert.equal(seen.at(-1)!.url, '/slurm/v0.0.38/job/submit');
    assert.equal(seen.at(-2)!.url, '/slurm/v0.0.38/ping/'); // the ping above, not a new one
    assert.throws(
      () => new RestSlurmClient({ readUser: 'root', rest: { url: 'http://x', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 10 } }),
      /privileged/,
    );
  });

  test('timeouts and dead servers are SlurmUnavailableError', async () => {
    reply = () => ({ status: 200, body: { meta, errors: [], pings: [] } });
    const dead = new RestSlurmClient({
      readUser: 'archipelago',
      rest: { url: 'http://127.0.0.1:1', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 500 },
    });
    await assert.rejects(dead.getJob(1), SlurmUnavailableError);
    assert.equal((await dead.ping()).up, false);
    await dead.close();
    const hang = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const slow = new RestSlurmClient({
      readUser: 'archipelago',
      rest: { url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`, jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 1, timeoutMs: 300 },
    });
    const t0 = Date.now();
    await assert.rejects(slow.getJob(1), SlurmUnavailableError);
    assert.ok(Date.now() - t0 < 2000);
    await slow.close();
    hang.closeAllConnections();
    await new Promise<void>((resolve) => hang.close(() => resolve()));
  });
});
