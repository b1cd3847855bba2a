import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, TERMINAL } from '../support/control-plane';

const script = (body: string, directives: string[] = []) =>
  ['#!/bin/bash', ...directives.map((d) => `#SBATCH ${d}`), body, ''].join('\n');

const ended = (job: { state: string }) => TERMINAL.has(job.state);

/** `answer`, or a failure when it has not come within `ms` (a request hanging on a file system). */
function answeredWithin<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([answer, hung]).finally(() => clearTimeout(timer));
}

/** SLURM's own view, read with the CLI as root: how many SLURM jobs carry each of this instance's tags. */
function slurmTagCounts(island: string, instance: string): Map<string, number> {
  const out = execFileSync('squeue', ['--json'], {
    env: { ...process.env, SLURM_CONF: `/etc/archipelago/islands/${island}/slurm.conf` },
    maxBuffer: 64 * 1024 * 1024,
  });
  const counts = new Map<string, number>();
  for (const job of JSON.parse(out.toString()).jobs as Array<{ comment?: string }>) {
    const match = new RegExp(`^archipelago:${instance}:job=(\\d+)`).exec(job.comment ?? '');
    if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return counts;
}

/**
 * The jobs API end to end against a real SLURM island through one adapter. Every assertion is
 * about what SLURM really did: states it reported, files the job wrote.
 */
export function jobFlowSuite(adapter: 'rest' | 'ssh', island: string, redisDb: number): void {
  describe(`jobs through the ${adapter} adapter (island ${island})`, { timeout: 300_000 }, () => {
    const cp = new ControlPlane(adapter, { islands: [{ name: island }], redisDb });
    let alice: { id: string; key: string };
    let bob: { id: string; key: string };

    before(async () => {
      await cp.start();
      alice = await cp.researcher('alice', 'alice');
      bob = await cp.researcher('bob', 'bob');
    });
    after(async () => {
      await cp.stop();
    });

    const submit = (key: string, body: unknown, headers: Record<string, string> = {}) => cp.request('POST', '/v1/jobs', key, body, headers);

    it('runs a script to COMPLETED and serves its stdout and stderr', async () => {
      const token = `tok-${Date.now()}`;
      const res = await submit(alice.key, {
        script: script(`echo "out ${token} job=$SLURM_JOB_ID user=$(id -un) greet=$GREETING"\necho "err ${token}" >&2`, [
          '--job-name=flow-basic',
          '--time=00:02:00',
          '--output=flow-%j.out',
          '--error=flow-%j.err',
        ]),
        environment: { GREETING: 'hi there' },
      });
      assert.equal(res.status, 202, res.text);
      assert.match(res.headers.get('location') ?? '', /^\/v1\/jobs\/\d+$/);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'COMPLETED');
      assert.equal(job.exitCode, 0);
      assert.equal(job.island, island);
      assert.ok(job.slurmJobId > 0);
      const out = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key);
      assert.equal(out.status, 200, out.text);
      assert.equal(out.text.trim(), `out ${token} job=${job.slurmJobId} user=alice greet=hi there`);
      assert.equal(out.headers.get('x-output-path'), `/home/alice/flow-${job.slurmJobId}.out`);
      const err = await cp.request('GET', `/v1/jobs/${job.id}/output?stream=stderr`, alice.key);
      assert.equal(err.text.trim(), `err ${token}`);
      const tail = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key, undefined, { range: 'bytes=-6' });
      assert.equal(tail.status, 206);
      assert.equal(tail.text, out.text.slice(-6));
      assert.match(tail.headers.get('content-range') ?? '', /^bytes \d+-\d+\/\d+$/);
    });

    it('reports a failing script as FAILED with its exit code, in the default slurm-%j.out', async () => {
      const res = await submit(alice.key, { script: script('echo about to fail; exit 3'), options: { time: 2 } });
      assert.equal(res.status, 202, res.text);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'FAILED');
      assert.equal(job.exitCode, 3);
      const out = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key);
      assert.equal(out.headers.get('x-output-path'), `/home/alice/slurm-${job.slurmJobId}.out`);
      assert.equal(out.text.trim(), 'about to fail');
    });

    it('runs a job array with visible tasks and per-task output', async () => {
      const res = await submit(alice.key, {
        script: script('echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID"', ['--array=0-3%2', '--output=arr-%A_%a.out']),
      });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.json.array.size, 4);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'COMPLETED');
      assert.deepEqual(job.array.tasks, { COMPLETED: 4 });
      const tasks = await cp.request('GET', `/v1/jobs/${job.id}/tasks`, alice.key);
      assert.deepEqual(tasks.json.items.map((t: any) => [t.taskId, t.state]), [
        [0, 'COMPLETED'], [1, 'COMPLETED'], [2, 'COMPLETED'], [3, 'COMPLETED'],
      ]);
      const out = await cp.request('GET', `/v1/jobs/${job.id}/output?task=2`, alice.key);
      assert.equal(out.status, 200, out.text);
      assert.equal(out.text.trim(), `task 2 of ${job.slurmJobId}`);
      const missingTask = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key);
      assert.equal(missingTask.status, 400);
      assert.equal(missingTask.json.field, 'task');
    });

    it('chains dependencies through our ids and cancels what can never run', async () => {
      const marker = `/home/alice/dep-${Date.now()}`;
      const first = await submit(alice.key, { script: script(`sleep 1; echo first > ${marker}`) });
      const second = await submit(alice.key, {
        script: script(`cat ${marker}`),
        options: { dependency: `afterok:${first.json.id}` },
      });
      assert.equal(second.status, 202, second.text);
      const done = await cp.waitForJob(alice.key, second.json.id, ended);
      assert.equal(done.state, 'COMPLETED');
      const firstJob = await cp.waitForJob(alice.key, first.json.id, ended);
      assert.ok(new Date(done.startedAt) >= new Date(firstJob.endedAt), 'the dependent job started after the first ended');
      const out = await cp.request('GET', `/v1/jobs/${done.id}/output`, alice.key);
      assert.equal(out.text.trim(), 'first');

      const failing = await submit(alice.key, { script: script('exit 1') });
      const never = await submit(alice.key, { script: script('echo never'), options: { dependency: `afterok:${failing.json.id}` } });
      const cancelled = await cp.waitForJob(alice.key, never.json.id, ended);
      assert.equal(cancelled.state, 'CANCELLED');
      assert.match(cancelled.stateReason, /DependencyNeverSatisfied/);
    });

    it('cancels a running job', async () => {
      const res = await submit(alice.key, { script: script('sleep 120'), options: { time: 5 } });
      await cp.waitForJob(alice.key, res.json.id, (j) => j.state === 'RUNNING');
      const cancel = await cp.request('DELETE', `/v1/jobs/${res.json.id}`, alice.key);
      assert.equal(cancel.status, 202, cancel.text);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'CANCELLED');
    });

    it('holds a job in SLURM and releases it', async () => {
      const res = await submit(alice.key, { script: script('echo released'), options: { hold: true } });
      const held = await cp.waitForJob(alice.key, res.json.id, (j) => j.state === 'PENDING' && j.slurmJobId !== null);
      assert.equal(held.hold, true);
      // SLURM's reason reaches us with the next listing; the job must stay PENDING meanwhile.
      const still = await cp.waitForJob(alice.key, res.json.id, (j) => j.state !== 'PENDING' || /JobHeld/.test(j.stateReason ?? ''), 30_000);
      assert.equal(still.state, 'PENDING', 'a held job does not start');
      assert.match(still.stateReason, /JobHeld/);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await cp.request('GET', `/v1/jobs/${res.json.id}`, alice.key)).json.state, 'PENDING');
      const released = await cp.request('POST', `/v1/jobs/${res.json.id}/release`, alice.key);
      assert.equal(released.status, 200, released.text);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'COMPLETED');

      const running = await submit(alice.key, { script: script('sleep 30') });
      await cp.waitForJob(alice.key, running.json.id, (j) => j.state === 'RUNNING');
      const late = await cp.request('POST', `/v1/jobs/${running.json.id}/hold`, alice.key);
      assert.equal(late.status, 409);
      await cp.request('DELETE', `/v1/jobs/${running.json.id}`, alice.key);
    });

    it('answers an Idempotency-Key replay with the same job and a changed body with 409', async () => {
      const body = { script: script('echo once') };
      const key = `idem-${Date.now()}`;
      const first = await submit(alice.key, body, { 'idempotency-key': key });
      const again = await submit(alice.key, body, { 'idempotency-key': key });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.equal(again.json.id, first.json.id);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      const changed = await submit(alice.key, { script: script('echo twice') }, { 'idempotency-key': key });
      assert.equal(changed.status, 409);
      assert.equal(changed.json.field, 'Idempotency-Key');
      // Another tenant may use the same key for its own job.
      const other = await submit(bob.key, body, { 'idempotency-key': key });
      assert.equal(other.status, 202);
      assert.notEqual(other.json.id, first.json.id);
      await cp.waitForJob(alice.key, first.json.id, ended);
    });

    it('serves readiness and the OpenAPI document generated from the code', async () => {
      const ready = await cp.request('GET', '/health/ready', null);
      assert.equal(ready.status, 200, ready.text);
      assert.equal(ready.json.checks.islands[island].ok, true);
      const spec = await cp.request('GET', '/openapi.json', null);
      assert.equal(spec.status, 200);
      assert.ok(spec.json.paths['/v1/jobs'].post, 'POST /v1/jobs is described');
      assert.ok(spec.json.paths['/v1/jobs/{id}/output'].get);
      const islands = await cp.request('GET', '/v1/islands', alice.key);
      assert.equal(islands.status, 200, islands.text);
      const mine = islands.json.items.find((i: any) => i.name === island);
      assert.equal(mine.reachable, true);
      assert.deepEqual(mine.partitions, ['debug', 'short']);
      assert.equal(mine.capacity.nodes, 3, 'the local island runs three slurmd');
      assert.equal(mine.capacity.cpus, 12);
      const detail = await cp.request('GET', `/v1/islands/${island}`, alice.key);
      assert.deepEqual(detail.json.nodes.map((n: any) => n.name), [`${island}-n1`, `${island}-n2`, `${island}-n3`]);
      assert.equal((await cp.request('GET', '/v1/islands/atlantis', alice.key)).status, 404);
      const unknownRoute = await cp.request('GET', '/v1/nothing-here', alice.key);
      assert.equal(unknownRoute.status, 404);
      assert.match(unknownRoute.headers.get('content-type') ?? '', /problem\+json/);
    });

    it('refuses bad input with problem+json naming the field', async () => {
      // [body, the field the problem must name, what its detail must say]
      const cases: Array<[unknown, string | RegExp, RegExp]> = [
        [{ script: 'echo no shebang' }, /^script/, /#!/],
        [{ script: script('true', ['--uid=0']) }, 'script:line 2', /--uid/],
        [{ script: script('true'), options: { clusters: 'other' } }, /clusters/, /--clusters/],
        [{ script: script('true'), options: { 'test-only': true } }, /test-only/, /--test-only/],
        [{ script: script('true', ['hetjob']) }, /script/, /heterogeneous|hetjob/i],
        [{ script: script('true'), options: { partition: 'nope' } }, '--partition', /nope/],
        [{ script: script('true'), options: { chdir: '/home/bob' } }, '--chdir', /outside/],
        [{ script: script('true'), options: { output: '/etc/passwd-%j' } }, '--output', /outside/],
        [{ script: script('true'), options: { output: '../bob/x.out' } }, '--output', /\.\./],
        [{ script: script('true'), options: { output: '\\/../../bob/x' } }, '--output', /\.\.|outside/],
        [{ script: script('true'), options: { time: '1:2:3:4' } }, /time/, /time/],
        [{ script: script('true'), options: { 'job-name': 'a/b' } }, /job-name/, /\//],
        [{ script: script('true'), environment: { 'BAD NAME': 'x' } }, /environment/, /names/],
        [{ script: script('true'), environment: { OK: 'line\nbreak' } }, /environment/, /LF/],
        [{ script: script('true'), unexpected: 1 }, 'unexpected', /should not exist/],
        [{ script: 42 }, 'script', /string/],
      ];
      for (const [body, field, detail] of cases) {
        const res = await submit(alice.key, body);
        assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${res.text}`);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.equal(res.json.status, 400);
        assert.ok(res.json.title, res.text);
        if (typeof field === 'string') assert.equal(res.json.field, field, res.text);
        else assert.match(res.json.field, field, res.text);
        assert.match(res.json.detail, detail, res.text);
      }
      const malformed = await cp.request('POST', '/v1/jobs', alice.key, '{"script": ', {});
      assert.equal(malformed.status, 400);
      assert.match(malformed.headers.get('content-type') ?? '', /problem\+json/);
      const unknownDependency = await submit(alice.key, { script: script('true'), options: { dependency: 'afterok:99999999' } });
      assert.equal(unknownDependency.status, 400);
      assert.equal(unknownDependency.json.field, '--dependency');
      const anonymous = await cp.request('GET', '/v1/jobs', null);
      assert.equal(anonymous.status, 401);
      const forged = await cp.request('GET', '/v1/jobs', 'ak_forged');
      assert.equal(forged.status, 401);
      const notAdmin = await cp.request('GET', '/v1/principals', alice.key);
      assert.equal(notAdmin.status, 403);
    });

    it('isolates tenants: another tenant\'s job is a 404 everywhere', async () => {
      const mine = await submit(alice.key, { script: script('echo private') });
      const id = mine.json.id;
      for (const [method, path] of [
        ['GET', `/v1/jobs/${id}`],
        ['GET', `/v1/jobs/${id}/output`],
        ['GET', `/v1/jobs/${id}/events`],
        ['DELETE', `/v1/jobs/${id}`],
        ['POST', `/v1/jobs/${id}/hold`],
        ['GET', `/v1/jobs/99999999`],
      ] as const) {
        const res = await cp.request(method, path, bob.key);
        assert.equal(res.status, 404, `${method} ${path} → ${res.status}`);
        assert.doesNotMatch(res.text, /private|alice/);
      }
      const bobsList = await cp.request('GET', '/v1/jobs?limit=500', bob.key);
      assert.ok(bobsList.json.items.every((j: any) => j.id !== id));
      const dependOnOthers = await submit(bob.key, { script: script('true'), options: { dependency: `afterany:${id}` } });
      assert.equal(dependOnOthers.status, 400);
      const job = await cp.waitForJob(alice.key, id, ended);
      assert.equal(job.state, 'COMPLETED');
    });

    it('refuses a FIFO the job left at its output path at once, while other tenants keep reading theirs', async () => {
      const fifoJob = await submit(alice.key, {
        script: script('f="$PWD/fifo-$SLURM_JOB_ID.out"; rm -f "$f"; mkfifo "$f"', ['--output=fifo-%j.out']),
      });
      const bobsJob = await submit(bob.key, { script: script('echo bob reads on') });
      assert.equal(fifoJob.status, 202, fifoJob.text);
      assert.equal((await cp.waitForJob(alice.key, fifoJob.json.id, ended)).state, 'COMPLETED');
      assert.equal((await cp.waitForJob(bob.key, bobsJob.json.id, ended)).state, 'COMPLETED');
      const fifoReads = Array.from({ length: 12 }, () => answeredWithin(15_000, cp.request('GET', `/v1/jobs/${fifoJob.json.id}/output`, alice.key)));
      const bobsReads = Array.from({ length: 6 }, () => answeredWithin(15_000, cp.request('GET', `/v1/jobs/${bobsJob.json.id}/output`, bob.key)));
      for (const res of await Promise.all(fifoReads)) {
        assert.equal(res.status, 403, res.text);
        assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      }
      for (const res of await Promise.all(bobsReads)) {
        assert.equal(res.status, 200, res.text);
        assert.equal(res.text, 'bob reads on\n');
      }
    });

    it('never follows a symlink at the output file, nor a directory symlink out of the roots, and answers every refusal alike', async () => {
      const token = `links-${process.pid}-${Date.now()}`;
      const home = '/home/alice';
      const asAlice = (...argv: string[]) => execFileSync('runuser', ['-u', 'alice', '--', ...argv]);
      const relink = (target: string, path: string) => {
        asAlice('rm', '-f', path);
        asAlice('ln', '-s', target, path);
      };
      asAlice('mkdir', `${home}/${token}-dir`);
      const res = await submit(alice.key, {
        script: script('echo written by the job'),
        options: { output: `${token}-dir/hostname`, error: `${token}-file.out` },
      });
      assert.equal(res.status, 202, res.text);
      assert.equal((await cp.waitForJob(alice.key, res.json.id, ended)).state, 'COMPLETED');
      const stdout = () => cp.request('GET', `/v1/jobs/${res.json.id}/output`, alice.key);
      const stderr = () => cp.request('GET', `/v1/jobs/${res.json.id}/output?stream=stderr`, alice.key);
      assert.equal((await stdout()).text, 'written by the job\n');
      assert.equal((await stderr()).status, 200);

      const refusals: Array<[string, { status: number; text: string; json: any }]> = [];
      const errorFile = `${home}/${token}-file.out`;
      for (const [what, target] of [
        ['a symlink loop', errorFile],
        ['a symlink to an existing file outside', '/etc/hostname'],
        ['a symlink to a missing file outside', `/etc/${token}-missing`],
        ['a symlink to a file inside the roots', `${home}/${token}-dir/hostname`],
      ]) {
        relink(target, errorFile);
        refusals.push([what, await stderr()]);
      }
      const dir = `${home}/${token}-dir`;
      asAlice('mv', dir, `${dir}.real`);
      for (const [what, target] of [
        ['a directory symlink to an existing directory outside', '/etc'],
        ['a directory symlink to a missing directory outside', `/${token}-nowhere`],
        ['a directory symlink loop', dir],
      ]) {
        relink(target, dir);
        refusals.push([what, await stdout()]);
      }
      // The answers name the stream asked for (stderr, then stdout) and nothing else that differs.
      const [, first] = refusals[0];
      const streamless = (json: any) => ({ ...json, detail: String(json?.detail).replace(/stdout|stderr/, '<stream>') });
      for (const [what, answer] of refusals) {
        assert.equal(answer.status, 403, `${what}: ${answer.text}`);
        assert.deepEqual(streamless(answer.json), streamless(first.json), `${what} is answered like every other refusal`);
      }
      assert.doesNotMatch(first.text, /etc|missing|nowhere|loop|symlink/i, 'the answer does not say what was found');

      relink(`${dir}.real`, dir);
      const inside = await stdout();
      assert.equal(inside.status, 200, `a directory symlink that stays inside the roots is followed: ${inside.text}`);
      assert.equal(inside.text, 'written by the job\n');
      asAlice('rm', '-rf', dir, `${dir}.real`, errorFile);
    });

    it('pages through jobs with a cursor and filters by state', async () => {
      const page1 = await cp.request('GET', '/v1/jobs?limit=2', alice.key);
      assert.equal(page1.status, 200);
      assert.equal(page1.json.items.length, 2);
      const page2 = await cp.request('GET', `/v1/jobs?limit=2&cursor=${page1.json.nextCursor}`, alice.key);
      assert.ok(Number(page2.json.items[0].id) < Number(page1.json.items[1].id));
      const failed = await cp.request('GET', '/v1/jobs?state=FAILED', alice.key);
      assert.ok(failed.json.items.length >= 1);
      assert.ok(failed.json.items.every((j: any) => j.state === 'FAILED'));
    });

    it('explains where a job was placed and rejects one no node can ever hold', async () => {
      const placed = await submit(alice.key, { script: script('echo placed'), options: { 'cpus-per-task': 2 } });
      assert.equal(placed.status, 202, placed.text);
      const job = await cp.waitForJob(alice.key, placed.json.id, (j) => j.slurmJobId !== null && j.slurmJobId !== undefined);
      const p = await cp.request('GET', `/v1/jobs/${job.id}/placement`, alice.key);
      assert.equal(p.status, 200, p.text);
      assert.equal(p.json.island, island);
      assert.equal(p.json.partition, job.partition);
      assert.ok(!Number.isNaN(Date.parse(p.json.decidedAt)), p.text);
      assert.equal(p.json.candidates[0].island, island, p.text);
      assert.equal(typeof p.json.candidates[0].score, 'number', p.text);
      assert.ok(p.json.candidates[0].breakdown.nodesEver >= 1, p.text);
      assert.equal((await cp.request('GET', `/v1/jobs/${job.id}/placement`, bob.key)).status, 404);

      const huge = await submit(alice.key, { script: script('echo never'), options: { 'cpus-per-task': 64 } });
      assert.equal(huge.status, 202, huge.text);
      const rejected = await cp.waitForJob(alice.key, huge.json.id, ended);
      assert.equal(rejected.state, 'REJECTED', JSON.stringify(rejected));
      assert.match(rejected.stateReason, /64 CPUs/, JSON.stringify(rejected));
      const why = await cp.request('GET', `/v1/jobs/${rejected.id}/placement`, alice.key);
      assert.equal(why.status, 200, why.text);
      assert.equal(why.json.island, null);
      assert.match(why.json.candidates[0].rejected, /CPUs/, why.text);
      assert.equal(rejected.slurmJobId ?? null, null, 'never submitted to SLURM');
    });

    it('submits every job exactly once when the worker is killed mid-dispatch', async () => {
      const total = 120;
      cp.killWorker();
      const ids: string[] = [];
      for (let i = 0; i < total; i++) {
        const res = await submit(alice.key, { script: script(`echo crash-test ${i}`), options: { 'job-name': `crash-${i}` } });
        assert.equal(res.status, 202);
        ids.push(res.json.id);
      }
      const waitingCount = async () => {
        const list = await cp.request('GET', '/v1/jobs?state=ACCEPTED,DISPATCHING&limit=500', alice.key);
        return list.json.items.filter((j: any) => ids.includes(j.id)).length;
      };
      cp.startWorker();
      // Kill it without warning twice, each time while part of the backlog is dispatched and part is not.
      const waitingAtKill: number[] = [];
      for (const threshold of [total - 20, total - 60]) {
        const deadline = Date.now() + 30000;
        let waiting = await waitingCount();
        while (waiting > threshold && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
          waiting = await waitingCount();
        }
        cp.killWorker();
        waitingAtKill.push(waiting);
        cp.startWorker();
      }
      assert.ok(waitingAtKill.some((w) => w > 0 && w < total), `the worker died mid-dispatch (waiting at kills: ${waitingAtKill})`);
      for (const id of ids) {
        const job = await cp.waitForJob(alice.key, id, ended, 120_000);
        assert.equal(job.state, 'COMPLETED', `job ${id}: ${JSON.stringify(job)}`);
      }
      const counts = slurmTagCounts(island, await cp.instanceId());
      for (const id of ids) assert.equal(counts.get(id), 1, `job ${id} was submitted ${counts.get(id) ?? 0} times`);
    });
  });
}
