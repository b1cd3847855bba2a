import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../support/control-plane';
import { childrenOf } from '../support/processes';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A GET on a connection of its own, given up after 3 s. */
function freshGet(url: string, path: string, key: string | null): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}${path}`, { agent: false, timeout: 3000, headers: key ? { authorization: `Bearer ${key}` } : {} }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('no answer within 3 s')));
  });
}

/**
 * As a client does: a connection the supervisor handed to a process at the instant it died is lost
 * with it (reset, or never answered), and the request is sent again on a new one.
 */
async function getWithRetry(url: string, path: string, key: string | null, attempts: { count: number }) {
  for (let left = 3; ; left--) {
    attempts.count++;
    try {
      return await freshGet(url, path, key);
    } catch (error) {
      if (left === 1) throw error;
    }
  }
}

/** The value of one series of a Prometheus text exposition, or 0 when it is absent. */
function series(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('API processes sharing one port (ARCHIPELAGO_API_PROCESSES)', { timeout: 180_000 }, () => {
  const cp = new ControlPlane('apicluster', { islands: [{ name: 'local-a' }], redisDb: 13, env: { ARCHIPELAGO_API_PROCESSES: '2' } });
  let alice: { id: string; key: string };

  before(async () => {
    await cp.start();
    cp.killWorker(); // nothing here needs SLURM: held jobs stay in the database
    alice = await cp.researcher('alice', 'alice');
  });
  after(() => cp.stop());

  it('runs the configured number of processes, all answering on the one port', async () => {
    const workers = await until('two API processes', () => (childrenOf(cp.pid('api')).length === 2 ? childrenOf(cp.pid('api')) : undefined));
    assert.equal(new Set(workers).size, 2);
    const submitted = await Promise.all(
      Array.from({ length: 40 }, (_, i) => cp.request('POST', '/v1/jobs', alice.key, { script: `#!/bin/bash\necho ${i}\n`, options: { hold: true } })),
    );
    assert.deepEqual(
      submitted.map((r) => r.status),
      submitted.map(() => 202),
    );
    assert.equal(new Set(submitted.map((r) => r.json.id)).size, 40, 'every job got its own id');
  });

  it('reports the metrics of all processes in one scrape', async () => {
    // Each scrape lands on either process; both must see all 40 submissions (summed by the supervisor).
    for (let i = 0; i < 4; i++) {
      const scrape = await cp.request('GET', '/metrics', null);
      assert.equal(scrape.status, 200);
      assert.equal(series(scrape.text, 'archipelago_http_requests_total', 'route="/v1/jobs",status="202"'), 40, scrape.text.slice(0, 400));
    }
  });

  it('replaces a process that dies and keeps answering meanwhile', async () => {
    const [victim, survivor] = childrenOf(cp.pid('api'));
    process.kill(victim, 'SIGKILL');
    const attempts = { count: 0 };
    for (let i = 0; i < 10; i++) {
      const answer = await getWithRetry(cp.url, '/v1/jobs?limit=1', alice.key, attempts);
      assert.equal(answer.status, 200);
    }
    assert.ok(attempts.count <= 12, `at most the connections in flight at the crash are lost (${attempts.count} attempts for 10 requests)`);
    const replaced = await until('a replacement process', () => {
      const now = childrenOf(cp.pid('api'));
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    assert.ok(replaced.includes(survivor));
    // The replacement is still starting: a scrape meanwhile is answered from the processes that listen.
    const scrape = await freshGet(cp.url, '/metrics', null);
    assert.equal(scrape.status, 200, scrape.text.slice(0, 300));
    assert.match(scrape.text, /archipelago_http_requests_total\{/);
  });

  it('stops every process on SIGTERM', async () => {
    const workers = childrenOf(cp.pid('api'));
    await cp.stop();
    await until('the API processes to end', () => (workers.every((pid) => !alive(pid)) ? true : undefined));
  });
});
