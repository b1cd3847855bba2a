import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, TERMINAL } from '../support/control-plane';

/**
 * Arrays as SLURM lists them (`GET /v1/jobs?array=`: one line per task, paged, tenant-isolated)
 * and output as `cat`/`tail -n` print it (the whole file by default, streamed; the last lines),
 * through the REST adapter on local-a against what SLURM really ran and wrote.
 */
const TOKEN = `h15arr-${process.pid}-${Date.now()}`;
const ended = (job: { state: string }) => TERMINAL.has(job.state);

describe('arrays as lines and whole outputs (island local-a)', { timeout: 240_000 }, () => {
  const cp = new ControlPlane('rest', { islands: [{ name: 'local-a' }], redisDb: 15 });
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const written: string[] = [];

  before(async () => {
    await cp.start();
    alice = await cp.researcher('alice', 'alice');
    bob = await cp.researcher('bob', 'bob');
  });
  after(async () => {
    await cp.stop();
    for (const path of written) rmSync(path, { force: true });
  });

  const submit = (body: unknown) => cp.request('POST', '/v1/jobs', alice.key, body);

  it('GET /v1/jobs?array= lists each task as <id>_<task>, paged, filtered, and only to its owner', async () => {
    const res = await submit({
      script: `#!/bin/bash\n#SBATCH --array=0-4\n#SBATCH -t 2\n#SBATCH -c 1\n#SBATCH -o ${TOKEN}-%A_%a.out\n[ "$SLURM_ARRAY_TASK_ID" = 3 ] && exit 3\necho ok\n`,
    });
    assert.equal(res.status, 202, res.text);
    const array = await cp.waitForJob(alice.key, res.json.id, ended, 120_000);
    for (let t = 0; t < 5; t++) written.push(`/home/alice/${TOKEN}-${array.id}_${t}.out`);

    const lines: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/jobs?array=${array.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await cp.request('GET', query, alice.key);
      assert.equal(page.status, 200, page.text);
      assert.ok(page.json.items.length <= 2);
      lines.push(...page.json.items);
      cursor = page.json.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(
      lines.map((l) => [l.id, l.arrayJobId, l.arrayTaskId, l.state, l.exitCode, l.island, l.requestedCpus]),
      [0, 1, 2, 3, 4].map((t) => [`${array.id}_${t}`, array.id, t, t === 3 ? 'FAILED' : 'COMPLETED', t === 3 ? 3 : 0, 'local-a', 1]),
    );
    // Each line is the task SLURM ran: its own SLURM id, node and times.
    const slurmIds = new Set(lines.map((l) => l.slurmJobId));
    assert.equal(slurmIds.size, 5);
    assert.ok(lines.every((l) => l.batchHost && l.startedAt && l.endedAt && l.name === array.name && l.user === 'alice'));
    assert.equal(lines[2].links.output, `/v1/jobs/${array.id}/output?task=2`);

    const failed = await cp.request('GET', `/v1/jobs?array=${array.id}&state=FAILED`, alice.key);
    assert.deepEqual(
      failed.json.items.map((l: any) => l.id),
      [`${array.id}_3`],
    );
    const elsewhere = await cp.request('GET', `/v1/jobs?array=${array.id}&island=local-b`, alice.key);
    assert.deepEqual(elsewhere.json, { items: [], nextCursor: null });

    // Another tenant's array is as unknown as a missing one.
    const foreign = await cp.request('GET', `/v1/jobs?array=${array.id}`, bob.key);
    assert.equal(foreign.status, 404, foreign.text);
    assert.match(foreign.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.ok(!foreign.text.includes('_0'));

    const plain = await submit({ script: '#!/bin/bash\n#SBATCH -t 1\n#SBATCH -o /dev/null\ntrue\n' });
    for (const [query, field, status] of [
      ['array=abc', 'array', 400],
      ['array=1e3', 'array', 400],
      [`array=${plain.json.id}`, 'array', 400],
      [`array=${array.id}&cursor=${Buffer.from(String(array.id)).toString('base64url')}`, 'cursor', 400],
      [`array=${array.id}&limit=0`, 'limit', 400],
    ] as const) {
      const bad = await cp.request('GET', `/v1/jobs?${query}`, alice.key);
      assert.equal(bad.status, status, `${query}: ${bad.text}`);
      assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(bad.json.field, field, query);
    }
  });

  it('the OpenAPI document generated from the code names the new query parameters', async () => {
    const spec = (await cp.request('GET', '/openapi.json', null)).json;
    const names = (path: string) => (spec.paths[path].get.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    assert.ok(names('/v1/jobs').includes('array'), JSON.stringify(names('/v1/jobs')));
    assert.ok(names('/v1/jobs/{id}/output').includes('tailLines'), JSON.stringify(names('/v1/jobs/{id}/output')));
  });

  it('output: the whole file by default (streamed past one read), the rest of it from a Range, the last lines with tailLines', async () => {
    const res = await submit({ script: `#!/bin/bash\n#SBATCH -t 2\n#SBATCH -o ${TOKEN}-big-%j.out\nseq 1 400000\n` });
    assert.equal(res.status, 202, res.text);
    const job = await cp.waitForJob(alice.key, res.json.id, ended, 120_000);
    assert.equal(job.state, 'COMPLETED');
    const path = `/home/alice/${TOKEN}-big-${job.slurmJobId}.out`;
    written.push(path);
    const onDisk = readFileSync(path);
    assert.ok(onDisk.length > 2 * 1024 * 1024, `${onDisk.length} bytes: more than two reads`);

    const whole = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('x-output-size'), String(onDisk.length));
    assert.equal(whole.text, onDisk.toString(), 'every byte, in order');

    const rest = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key, undefined, { range: 'bytes=1000000-' });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers.get('content-range'), `bytes 1000000-${onDisk.length - 1}/${onDisk.length}`);
    assert.equal(rest.text, onDisk.subarray(1_000_000).toString());

    const last = await cp.request('GET', `/v1/jobs/${job.id}/output?tailLines=3`, alice.key);
    assert.equal(last.status, 206);
    assert.equal(last.text, '399998\n399999\n400000\n');
    assert.equal(last.headers.get('content-range'), `bytes ${onDisk.length - 21}-${onDisk.length - 1}/${onDisk.length}`);
    const many = await cp.request('GET', `/v1/jobs/${job.id}/output?tailLines=20000`, alice.key);
    assert.equal(many.text, onDisk.toString().split('\n').slice(-20001).join('\n'), 'looked back past its first window');

    const bytes = await cp.request('GET', `/v1/jobs/${job.id}/output?tail=7`, alice.key);
    assert.equal(bytes.text, '400000\n'.slice(-7));

    const mixed = await cp.request('GET', `/v1/jobs/${job.id}/output?tailLines=3&tail=5`, alice.key);
    assert.equal(mixed.status, 400);
    assert.equal(mixed.json.field, 'tailLines');
    const zero = await cp.request('GET', `/v1/jobs/${job.id}/output?tailLines=0`, alice.key);
    assert.equal(zero.status, 400);
    assert.equal(zero.json.field, 'tailLines');
  });
});
