import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../support/control-plane';

/** The API processes the supervisor runs now (its children, from the kernel's view). */
function childrenOf(pid: number): number[] {
  const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
}

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
    for (let i = 0; i < 10; i++) {
      const answer = await cp.request('GET', '/v1/jobs?limit=1', alice.key);
      assert.equal(answer.status, 200);
    }
    const replaced = await until('a replacement process', () => {
      const now = childrenOf(cp.pid('api'));
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    assert.ok(replaced.includes(survivor));
  });

  it('stops every process on SIGTERM', async () => {
    const workers = childrenOf(cp.pid('api'));
    await cp.stop();
    await until('the API processes to end', () => (workers.every((pid) => !alive(pid)) ? true : undefined));
  });
});
