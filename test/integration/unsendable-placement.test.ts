import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, TERMINAL } from '../support/control-plane';

/**
 * A job whose options slurmrestd cannot send (`--signal=B:`) is placed on an island that can:
 * local-a (slurmrestd 22.05) and local-c (slurmrestd 24.11) have no SSH fallback here, local-b is
 * driven over SSH. Each REST island says why it was passed over; with only REST islands allowed,
 * the job is refused at submit with that reason.
 */
const TOKEN = `h15unsend-${process.pid}-${Date.now()}`;

describe('placement keeps jobs off islands that cannot send them', { timeout: 180_000 }, () => {
  const cp = new ControlPlane('unsendable', { islands: [{ name: 'local-a' }, { name: 'local-b' }, { name: 'local-c' }], redisDb: 14 });
  let alice: { id: string; key: string };

  before(async () => {
    await cp.start();
    alice = await cp.researcher('alice', 'alice');
  });
  after(async () => {
    await cp.stop();
  });

  const script = `#!/bin/bash\n#SBATCH -J ${TOKEN}\n#SBATCH -t 1\n#SBATCH -H\n#SBATCH -o /dev/null\n#SBATCH --signal=B:USR1@60\nsleep 30\n`;

  it('--signal=B: goes to the SSH island; both REST islands name what they cannot send', async () => {
    const res = await cp.request('POST', '/v1/jobs', alice.key, { script });
    assert.equal(res.status, 202, res.text);
    try {
      const job = await cp.waitForJob(alice.key, res.json.id, (j) => j.slurmJobId !== null || TERMINAL.has(j.state), 60_000);
      assert.equal(job.island, 'local-b', JSON.stringify(job));
      assert.equal(job.state, 'PENDING', 'held on local-b, not refused');
      const placement = (await cp.request('GET', `/v1/jobs/${job.id}/placement`, alice.key)).json;
      const rejected = Object.fromEntries(placement.candidates.map((c: any) => [c.island, c.rejected]));
      assert.match(rejected['local-a'], /slurmrestd without an SSH fallback, which cannot send --signal=B:;/);
      assert.match(rejected['local-c'], /cannot send --signal with B: or R:;/);
      assert.equal(rejected['local-b'] ?? null, null);
    } finally {
      await cp.request('DELETE', `/v1/jobs/${res.json.id}`, alice.key);
    }
  });

  it('restricted to the REST islands, it is refused at submit (422) with the reason', async () => {
    const res = await cp.request('POST', '/v1/jobs', alice.key, { script, placement: { islands: ['local-a', 'local-c'] } });
    assert.equal(res.status, 422, res.text);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.match(res.text, /cannot send --signal=B:/);
    // Without the B: flag the same job fits a REST island.
    const plain = await cp.request('POST', '/v1/jobs', alice.key, {
      script: script.replace('B:USR1@60', 'USR1@60'),
      placement: { islands: ['local-a'] },
    });
    assert.equal(plain.status, 202, plain.text);
    await cp.request('DELETE', `/v1/jobs/${plain.json.id}`, alice.key);
  });
});
