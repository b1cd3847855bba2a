import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FallbackSlurmClient, PRIMARY_RETRY_AFTER_MS } from '../../src/adapters/slurm/fallback-slurm-client';
import { neverReached } from '../../src/adapters/slurm/slurm-errors';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SlurmInexpressibleError, SlurmRejectedError, SlurmUnavailableError, type SlurmSubmitRequest } from '../../src/core/slurm/slurm-client.port';
import type { SlurmAdapter } from '../../src/adapters/slurm/slurm-adapter';

/**
 * The REST→SSH fallback decides on the REST adapter's real errors: a port nobody listens on
 * (connection refused: nothing was sent) and a slurmrestd that accepts and never answers (a
 * timeout: SLURM may have the job). The second adapter is a recorder standing in for SSH.
 */

const KEY = Buffer.from('k'.repeat(32));
const request: SlurmSubmitRequest = {
  script: '#!/bin/bash\ntrue\n',
  spec: { partition: 'debug' },
  workingDirectory: '/home/alice',
  environment: { PATH: '/bin' },
  comment: 'archipelago:x:job=1',
};

function rest(port: number): RestSlurmClient {
  return new RestSlurmClient({
    readUser: 'archipelago',
    rest: { url: `http://127.0.0.1:${port}`, apiVersion: 'v0.0.38', jwtKey: KEY, tokenLifetimeSeconds: 60, connections: 2, timeoutMs: 300 },
  });
}

/** Records calls; answers like a healthy SSH adapter. */
function recorder(): SlurmAdapter & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    submit: async (user) => (calls.push(`submit ${user}`), { jobId: 42, warnings: [] }),
    listJobs: async () => (calls.push('listJobs'), { asOf: 1, jobs: [] }),
    getJob: async () => (calls.push('getJob'), []),
    jobStates: async () => (calls.push('jobStates'), null),
    cancel: async (user) => void calls.push(`cancel ${user}`),
    setHold: async (user) => void calls.push(`setHold ${user}`),
    listNodes: async () => (calls.push('listNodes'), []),
    ping: async () => (calls.push('ping'), { up: true, hostname: 'ssh', version: '22.05' }),
    runsOf: async () => (calls.push('runsOf'), []),
    submitSettleMs: () => 0,
    unsendable: async () => [],
    loginNode: () => null,
    close: async () => void calls.push('close'),
  };
}

/** A TCP port that was free a moment ago: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('FallbackSlurmClient', () => {
  let silent: Server;
  let silentPort = 0;

  before(async () => {
    // Accepts requests and never answers: the REST client times out mid-request.
    silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
  });
  after(async () => {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('a refused connection sends the submission over the fallback, and later calls go there directly', async () => {
    const primary = rest(await closedPort());
    const ssh = recorder();
    let now = 1_000_000;
    const client = new FallbackSlurmClient(primary, ssh, 'island-x', () => now);
    assert.deepEqual(await client.submit('alice', request), { jobId: 42, warnings: [] });
    assert.equal(client.usingFallback(), true);
    await client.cancel('alice', 42);
    await client.listJobs();
    assert.deepEqual(ssh.calls, ['submit alice', 'cancel alice', 'listJobs']);
    // The primary is retried after a while; still refused, so the fallback answers again.
    now += PRIMARY_RETRY_AFTER_MS + 1;
    assert.equal(client.usingFallback(), false);
    await client.getJob(42);
    assert.equal(client.usingFallback(), true);
    assert.deepEqual(ssh.calls.at(-1), 'getJob');
    await client.close();
    assert.deepEqual(ssh.calls.at(-1), 'close');
  });

  it('a timed-out submission is NOT sent again over the fallback (SLURM may already have it)', async () => {
    const ssh = recorder();
    const client = new FallbackSlurmClient(rest(silentPort), ssh, 'island-x');
    const before = Date.now();
    await assert.rejects(client.submit('alice', request), (error: SlurmUnavailableError) => {
      // Its token (2 s: the 300 ms timeout rounded up, at least 2) expires, then the margin.
      assert.ok(error instanceof SlurmUnavailableError);
      assert.ok(error.settlesAt! >= before + 2000 && error.settlesAt! <= Date.now() + 5100, `settlesAt ${error.settlesAt! - before} ms from the start`);
      return true;
    });
    assert.deepEqual(ssh.calls, []);
    assert.equal(client.usingFallback(), false);
    await client.close();
  });

  it('a verdict from SLURM stands: rejections are not retried another way', async () => {
    const ssh = recorder();
    const refusing: SlurmAdapter = {
      ...recorder(),
      submit: async () => {
        throw new SlurmRejectedError('Invalid partition name specified', 2000, 500);
      },
    };
    const client = new FallbackSlurmClient(refusing, ssh, 'island-x');
    await assert.rejects(client.submit('alice', request), SlurmRejectedError);
    assert.deepEqual(ssh.calls, []);
  });

  it('a job slurmrestd cannot express (--signal=B:) goes to sbatch over the fallback; the primary stays in use', async () => {
    const ssh = recorder();
    // The real REST adapter refuses it before sending anything (no server needed: nothing is sent).
    const client = new FallbackSlurmClient(rest(await closedPort()), ssh, 'island-x');
    const signalled = { ...request, spec: { ...request.spec, signal: 'B:USR1@60' } };
    assert.deepEqual(await client.submit('alice', signalled), { jobId: 42, warnings: [] });
    assert.deepEqual(ssh.calls, ['submit alice']);
    assert.equal(client.usingFallback(), false, 'not a sign that the primary is down');
    const alone = rest(await closedPort());
    await assert.rejects(alone.submit('alice', signalled), (e: unknown) => e instanceof SlurmInexpressibleError && /B: flag/.test((e as Error).message));
    await alone.close();
  });

  it('ping: up through the primary when it answers, through the fallback when it does not', async () => {
    const healthy: SlurmAdapter = { ...recorder(), ping: async () => ({ up: true, hostname: 'rest', version: '22.05' }) };
    assert.equal((await new FallbackSlurmClient(healthy, recorder(), 'x').ping()).hostname, 'rest');
    const ssh = recorder();
    const client = new FallbackSlurmClient(rest(await closedPort()), ssh, 'x');
    assert.equal((await client.ping()).hostname, 'ssh');
    await client.close();
  });

  it('the REST adapter: a refused submission settled at once (no settlesAt); the token sent expires with the timeout', async () => {
    await assert.rejects(rest(await closedPort()).submit('alice', request), (error: SlurmUnavailableError) => error.settlesAt === undefined);
    let token = '';
    const answering = createServer((req, res) => {
      token = String(req.headers['x-slurm-user-token']);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ job_id: 5, errors: [] })));
    });
    await new Promise<void>((r) => answering.listen(0, '127.0.0.1', r));
    const client = new RestSlurmClient({
      readUser: 'archipelago',
      rest: {
        url: `http://127.0.0.1:${(answering.address() as AddressInfo).port}`,
        apiVersion: 'v0.0.38',
        jwtKey: KEY,
        tokenLifetimeSeconds: 600,
        connections: 1,
        timeoutMs: 7500,
      },
    });
    assert.equal((await client.submit('alice', request)).jobId, 5);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.exp - claims.iat, 8, 'not the 600 s token of reads: the 7.5 s timeout, rounded up');
    await client.close();
    await new Promise<void>((r) => answering.close(() => r()));
  });

  it("accounting and the settle time are the island's whichever way it is reached", async () => {
    const ssh = recorder();
    const primary = rest(await closedPort());
    const client = new FallbackSlurmClient(primary, ssh, 'x');
    assert.deepEqual(await client.runsOf([7]), []);
    assert.deepEqual(ssh.calls, ['runsOf'], 'slurmdbd over REST unreachable: sacct over SSH answered');
    assert.equal(client.submitSettleMs(), primary.submitSettleMs());
    assert.ok(client.submitSettleMs() > 0);
    await client.close();
  });

  it('neverReached: only connect-level causes count', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(neverReached(new SlurmUnavailableError('x', { cause: refused })), true);
    assert.equal(neverReached(new SlurmUnavailableError('x', { cause: new Error('wrapped', { cause: refused }) })), true);
    assert.equal(neverReached(new SlurmUnavailableError('x', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })), false);
    assert.equal(neverReached(new SlurmUnavailableError('HTTP 503')), false);
    assert.equal(neverReached(refused), false);
  });
});
