import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, REPO, TERMINAL } from '../support/control-plane';

const script = (body: string, directives: string[] = []) => ['#!/bin/bash', ...directives.map((d) => `#SBATCH ${d}`), body, ''].join('\n');

const ended = (job: { state: string }) => TERMINAL.has(job.state);

/** `answer`, or a failure when it has not come within `ms` (a request hanging on a file system). */
function answeredWithin<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([answer, hung]).finally(() => clearTimeout(timer));
}

interface SlurmView {
  job_id: number;
  user_name: string;
  comment?: string;
  job_state: string;
  state_reason?: string;
  array_job_id?: number;
}

/**
 * A SLURM command as root where the island's SLURM lives: the host's for 22.05 islands, inside the
 * island's Debian root for local-c (24.11). The test's own view, independent of the adapters.
 */
function islandCli(island: string, argv: string[], user?: string): Buffer {
  const as = user ? ['-u', user] : [];
  return execFileSync('bash', [`${REPO}/slurm/local/island-exec.sh`, ...as, island, ...argv], { maxBuffer: 64 * 1024 * 1024 });
}

/** 23.11+ prints `{set, number}` and state lists where 22.05 printed plain values. */
const plain = (value: unknown): unknown => (typeof value === 'object' && value !== null && 'number' in value ? (value as { number: unknown }).number : value);

/** SLURM's own view of every job it still holds (finished ones too), read with the CLI as root. */
function slurmJobs(island: string): SlurmView[] {
  const jobs = JSON.parse(islandCli(island, ['squeue', '--json', '--states=all']).toString()).jobs as Array<Record<string, unknown>>;
  return jobs.map((j) => ({
    job_id: j.job_id as number,
    user_name: j.user_name as string,
    comment: j.comment as string | undefined,
    job_state: Array.isArray(j.job_state) ? j.job_state[0] : (j.job_state as string),
    state_reason: j.state_reason as string | undefined,
    array_job_id: plain(j.array_job_id) as number | undefined,
  }));
}

/** How many SLURM jobs carry each of this instance's tags. */
function slurmTagCounts(island: string, instance: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const job of slurmJobs(island)) {
    const match = new RegExp(`^archipelago:${instance}:job=(\\d+)`).exec(job.comment ?? '');
    if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return counts;
}

function scancel(island: string, ids: number[]): void {
  if (ids.length === 0) return;
  islandCli(island, ['scancel', ...ids.map(String)]);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
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

    it('reports a failing script as FAILED with its exit code, in the default archipelago-<id>-%j.out', async () => {
      const res = await submit(alice.key, { script: script('echo about to fail; echo and says why >&2; exit 3'), options: { time: 2 } });
      assert.equal(res.status, 202, res.text);
      const job = await cp.waitForJob(alice.key, res.json.id, ended);
      assert.equal(job.state, 'FAILED');
      assert.equal(job.exitCode, 3);
      assert.equal(job.options.output, undefined, 'the options stay what the user asked for');
      const out = await cp.request('GET', `/v1/jobs/${job.id}/output`, alice.key);
      // Named by our id too: islands sharing a filesystem count SLURM ids on their own.
      const path = `/home/alice/archipelago-${job.id}-${job.slurmJobId}.out`;
      assert.equal(out.headers.get('x-output-path'), path);
      assert.equal(out.text, 'about to fail\nand says why\n');
      const err = await cp.request('GET', `/v1/jobs/${job.id}/output?stream=stderr`, alice.key);
      assert.equal(err.headers.get('x-output-path'), path);
      assert.equal(readFileSync(path, 'utf8'), out.text, 'SLURM wrote that very file');

      const array = await submit(alice.key, { script: script('echo "task $SLURM_ARRAY_TASK_ID"'), options: { array: '0-1' } });
      const arrayJob = await cp.waitForJob(alice.key, array.json.id, ended);
      assert.equal(arrayJob.state, 'COMPLETED');
      for (const taskId of [0, 1]) {
        const task = await cp.request('GET', `/v1/jobs/${arrayJob.id}/output?task=${taskId}`, alice.key);
        assert.equal(task.status, 200, task.text);
        assert.equal(task.headers.get('x-output-path'), `/home/alice/archipelago-${arrayJob.id}-${arrayJob.slurmJobId}_${taskId}.out`);
        assert.equal(task.text, `task ${taskId}\n`);
      }
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
      assert.deepEqual(
        tasks.json.items.map((t: any) => [t.taskId, t.state]),
        [
          [0, 'COMPLETED'],
          [1, 'COMPLETED'],
          [2, 'COMPLETED'],
          [3, 'COMPLETED'],
        ],
      );
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
      assert.deepEqual(
        detail.json.nodes.map((n: any) => n.name),
        [`${island}-n1`, `${island}-n2`, `${island}-n3`],
      );
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
      assert.match(unknownDependency.json.detail, /Archipelago job ids .* not the SLURM job ids/, unknownDependency.text);
      const anonymous = await cp.request('GET', '/v1/jobs', null);
      assert.equal(anonymous.status, 401);
      const forged = await cp.request('GET', '/v1/jobs', 'ak_forged');
      assert.equal(forged.status, 401);
      const notAdmin = await cp.request('GET', '/v1/principals', alice.key);
      assert.equal(notAdmin.status, 403);
    });

    it("isolates tenants: another tenant's job is a 404 everywhere", async () => {
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
      // A name of this run only: SLURM job ids restart with a fresh island, and a FIFO left at a
      // reused path by an earlier run would block slurmstepd's own open of the output file.
      const name = `fifo-${process.pid}-${Date.now()}`;
      const fifoJob = await submit(alice.key, {
        script: script(`f="$PWD/${name}-$SLURM_JOB_ID.out"; rm -f "$f"; mkfifo "$f"`, [`--output=${name}-%j.out`]),
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
      rmSync(`/home/alice/${name}-${(await cp.waitForJob(alice.key, fifoJob.json.id, ended)).slurmJobId}.out`, { force: true });
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

    // The attacks below run as a real SLURM batch job of bob's, submitted through the API; from
    // inside it bob reads alice's tags with squeue (comments are public) and submits SLURM jobs of
    // his own that carry them, as any tenant can.
    const attackerScript = (body: string) =>
      script([`export PATH=/usr/bin:/bin:$PATH SLURM_CONF=/etc/archipelago/islands/${island}/slurm.conf`, 'set -eu', body].join('\n'));

    it("ignores a SLURM job that carries another tenant's tag: no cancel, no task rows, no state", async () => {
      const running = await submit(alice.key, { script: script('sleep 300'), options: { time: 10, 'job-name': 'victim-running' } });
      const array = await submit(alice.key, { script: script('echo task'), options: { array: '0-3', hold: true, 'job-name': 'victim-array' } });
      const victimRunning = await cp.waitForJob(alice.key, running.json.id, (j) => j.state === 'RUNNING');
      const victimArray = await cp.waitForJob(
        alice.key,
        array.json.id,
        (j) => j.state === 'PENDING' && /JobHeld/.test(j.stateReason ?? '') && j.array.tasks.PENDING === 4,
      );
      let forged: number[] = [];
      try {
        const attack = await submit(bob.key, {
          script: attackerScript(
            [
              `running_tag=$(squeue -a -h -j ${victimRunning.slurmJobId} -o %k)`,
              `array_tag=$(squeue -a -h -j ${victimArray.slurmJobId} -o %k | head -1)`,
              'test -n "$running_tag" && test -n "$array_tag"',
              // A pending job whose dependency can never be satisfied: the follower used to scancel
              // the tagged job's owner's job for it.
              `failed=$(sbatch --parsable -o /dev/null --wrap 'exit 1')`,
              'never=$(sbatch --parsable -o /dev/null --dependency=afterok:$failed --comment="$running_tag" --wrap true)',
              // An array whose tasks fail with exit code 7: they used to become the victim's task rows.
              `forged_array=$(sbatch --parsable -o /dev/null --array=0-3 --comment="$array_tag" --wrap 'exit 7')`,
              'echo "forged $failed $never $forged_array tags $running_tag $array_tag"',
            ].join('\n'),
          ),
        });
        assert.equal(attack.status, 202, attack.text);
        const attacker = await cp.waitForJob(bob.key, attack.json.id, ended);
        const out = (await cp.request('GET', `/v1/jobs/${attacker.id}/output`, bob.key)).text;
        assert.equal(attacker.state, 'COMPLETED', out);
        const match = /forged (\d+) (\d+) (\d+) tags (\S+) (\S+)/.exec(out);
        assert.ok(match, `the attacker's job printed what it forged: ${out}`);
        const [failed, never, forgedArray] = [Number(match[1]), Number(match[2]), Number(match[3])];
        forged = [failed, never, forgedArray];
        assert.match(match[4], /^archipelago:/, "bob read alice's tag");
        // The attack reached SLURM as intended: bob's jobs carry alice's tags, the dependent one can
        // never run, the array's tasks failed with 7.
        await until('the forged jobs to reach their states', () => {
          const jobs = slurmJobs(island);
          const neverJob = jobs.find((j) => j.job_id === never);
          const tasks = jobs.filter((j) => j.array_job_id === forgedArray);
          const done = neverJob?.state_reason === 'DependencyNeverSatisfied' && tasks.length === 4 && tasks.every((t) => t.job_state === 'FAILED');
          return done ? true : undefined;
        });
        const jobs = slurmJobs(island);
        assert.equal(jobs.find((j) => j.job_id === never)?.user_name, 'bob');
        assert.equal(jobs.find((j) => j.job_id === never)?.comment, match[4]);
        assert.ok(jobs.filter((j) => j.array_job_id === forgedArray).every((t) => t.user_name === 'bob' && t.comment === match[5]));
        // Several follower ticks later nothing of alice's has changed.
        await new Promise((r) => setTimeout(r, 3000));
        const stillRunning = (await cp.request('GET', `/v1/jobs/${running.json.id}`, alice.key)).json;
        assert.equal(stillRunning.state, 'RUNNING', JSON.stringify(stillRunning));
        assert.equal(stillRunning.slurmJobId, victimRunning.slurmJobId);
        assert.equal(jobs.find((j) => j.job_id === victimRunning.slurmJobId)?.job_state, 'RUNNING', 'SLURM did not cancel it');
        const events = (await cp.request('GET', `/v1/jobs/${running.json.id}/events`, alice.key)).json;
        assert.ok(!JSON.stringify(events).includes('CANCELLED'), JSON.stringify(events));
        const heldArray = (await cp.request('GET', `/v1/jobs/${array.json.id}`, alice.key)).json;
        assert.equal(heldArray.state, 'PENDING', JSON.stringify(heldArray));
        assert.equal(heldArray.exitCode, null);
        assert.deepEqual(heldArray.array.tasks, { PENDING: 4 });
        const tasks = (await cp.request('GET', `/v1/jobs/${array.json.id}/tasks`, alice.key)).json.items;
        assert.deepEqual(
          tasks.map((t: any) => [t.taskId, t.state, t.slurmJobId ?? null, t.exitCode ?? null]),
          [
            [0, 'PENDING', null, null],
            [1, 'PENDING', null, null],
            [2, 'PENDING', null, null],
            [3, 'PENDING', null, null],
          ],
        );
      } finally {
        scancel(island, forged);
        await cp.request('DELETE', `/v1/jobs/${running.json.id}`, alice.key);
        await cp.request('DELETE', `/v1/jobs/${array.json.id}`, alice.key);
      }
      assert.equal((await cp.waitForJob(alice.key, running.json.id, ended)).state, 'CANCELLED');
      assert.equal((await cp.waitForJob(alice.key, array.json.id, ended)).state, 'CANCELLED');
    });

    it("does not adopt a forged SLURM job as an earlier attempt of another tenant's job", async () => {
      const instance = await cp.instanceId();
      const trigger = `/home/bob/forge-recovery-${process.pid}-${Date.now()}`;
      // bob waits for the id of alice's next job, then submits SLURM jobs claiming to be its first
      // attempt: an old-style tag without a mac, and one with the mac of bob's own job.
      const attack = await submit(bob.key, {
        script: attackerScript(
          [
            `while [ ! -s ${trigger} ]; do sleep 0.2; done`,
            `victim=$(cat ${trigger})`,
            'own_mac=$(squeue -h -j $SLURM_JOB_ID -o %k | cut -d" " -f1 | cut -d: -f5)',
            `legacy=$(sbatch --parsable --hold -o /dev/null --comment="archipelago:${instance}:job=$victim" --wrap true)`,
            `copied=$(sbatch --parsable --hold -o /dev/null --comment="archipelago:${instance}:job=$victim:1:$own_mac" --wrap true)`,
            'echo "forged $legacy $copied"',
          ].join('\n'),
        ),
        options: { time: 5 },
      });
      assert.equal(attack.status, 202, attack.text);
      await cp.waitForJob(bob.key, attack.json.id, (j) => j.state === 'RUNNING');
      cp.killWorker();
      let workerStopped = true;
      let forged: number[] = [];
      try {
        const victim = await submit(alice.key, { script: script('echo adopted-by-nobody') });
        assert.equal(victim.status, 202, victim.text);
        // As if a worker had claimed it and died before its submission reached SLURM.
        await cp.sql('UPDATE jobs SET dispatch_attempts = 1 WHERE id = $1', [victim.json.id]);
        writeFileSync(trigger, victim.json.id);
        forged = await until("bob's forged jobs", () => {
          const mine = slurmJobs(island).filter((j) => j.user_name === 'bob' && (j.comment ?? '').startsWith(`archipelago:${instance}:job=${victim.json.id}`));
          return mine.length === 2 ? mine.map((j) => j.job_id) : undefined;
        });
        cp.startWorker();
        workerStopped = false;
        const done = await cp.waitForJob(alice.key, victim.json.id, ended);
        assert.equal(done.state, 'COMPLETED', JSON.stringify(done));
        assert.ok(!forged.includes(done.slurmJobId), `adopted bob's job ${done.slurmJobId}`);
        assert.equal((await cp.request('GET', `/v1/jobs/${done.id}/output`, alice.key)).text.trim(), 'adopted-by-nobody');
        const bobs = slurmJobs(island).filter((j) => forged.includes(j.job_id));
        assert.deepEqual(
          bobs.map((j) => [j.user_name, j.job_state]),
          [
            ['bob', 'PENDING'],
            ['bob', 'PENDING'],
          ],
          "bob's jobs are untouched",
        );
        const attacker = await cp.waitForJob(bob.key, attack.json.id, ended);
        assert.equal(attacker.state, 'COMPLETED');
      } finally {
        if (workerStopped) cp.startWorker();
        scancel(island, forged);
        rmSync(trigger, { force: true });
      }
    });

    it('follows a job tagged before the upgrade (no mac) to its end: in-flight jobs do not become LOST', async () => {
      const instance = await cp.instanceId();
      // A job dispatched by the previous version (or by an old worker still running during a rolling
      // upgrade, after the key was created): its tag has no mac.
      const [row] = await cp.sql(
        `INSERT INTO jobs (owner_id, slurm_user, request_hash, name, script, spec, environment, working_directory, island, state, dispatched_at)
         VALUES ($1, 'alice', '\\x00', 'before-upgrade', '#!/bin/bash', '{}', '{}', '/home/alice', $2, 'PENDING', now())
         RETURNING id::text`,
        [alice.id, island],
      );
      const out = islandCli(
        island,
        ['sbatch', '--parsable', '-D', '/home/alice', '-o', '/dev/null', `--comment=archipelago:${instance}:job=${row.id}`, '--wrap', 'sleep 2; exit 4'],
        'alice',
      );
      await cp.sql('UPDATE jobs SET slurm_job_id = $2 WHERE id = $1', [row.id, Number(out.toString().trim().split(';')[0])]);
      const job = await cp.waitForJob(alice.key, row.id, ended);
      assert.equal(job.state, 'FAILED', JSON.stringify(job));
      assert.equal(job.exitCode, 4);
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

    it('explains where a job was placed and refuses at submit (422) one no node can ever hold', async () => {
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

      // Refused at submit, as sbatch refuses it, with the placement that explains why; nothing is stored.
      const hugeName = `never-${process.pid}-${Date.now()}`;
      const huge = await submit(alice.key, { script: script('echo never'), options: { 'cpus-per-task': 64, 'job-name': hugeName } });
      assert.equal(huge.status, 422, huge.text);
      assert.match(huge.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(huge.json.detail, /^no island can run it: .*64 CPUs/, huge.text);
      assert.equal(huge.json.placement.island, null, huge.text);
      assert.equal(huge.json.placement.status, 'unplaceable', huge.text);
      assert.match(huge.json.placement.candidates[0].rejected, /CPUs/, huge.text);
      assert.deepEqual((await cp.request('GET', `/v1/jobs?name=${hugeName}`, alice.key)).json.items, [], 'no job was created');
      // One that fits is accepted, whether it can start now or must wait.
      const waits = await submit(alice.key, { script: script('true'), options: { 'cpus-per-task': 4, hold: true } });
      assert.equal(waits.status, 202, waits.text);
      await cp.request('DELETE', `/v1/jobs/${waits.json.id}`, alice.key);
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
      assert.ok(
        waitingAtKill.some((w) => w > 0 && w < total),
        `the worker died mid-dispatch (waiting at kills: ${waitingAtKill})`,
      );
      for (const id of ids) {
        const job = await cp.waitForJob(alice.key, id, ended, 120_000);
        assert.equal(job.state, 'COMPLETED', `job ${id}: ${JSON.stringify(job)}`);
      }
      const counts = slurmTagCounts(island, await cp.instanceId());
      for (const id of ids) assert.equal(counts.get(id), 1, `job ${id} was submitted ${counts.get(id) ?? 0} times`);
    });
  });
}
