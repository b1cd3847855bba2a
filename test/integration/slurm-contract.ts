import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import type { IslandConnection } from '../../src/adapters/slurm/island-connection';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { SlurmRejectedError, type SlurmClient, type SlurmJobRecord, type SlurmSubmitRequest } from '../../src/core/slurm/slurm-client.port';

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(client: SlurmClient, jobId: number, done: (job: SlurmJobRecord) => boolean, timeoutMs = 60_000): Promise<SlurmJobRecord> {
  const deadline = Date.now() + timeoutMs;
  let last: SlurmJobRecord | undefined;
  while (Date.now() < deadline) {
    [last] = await client.getJob(jobId);
    if (last && done(last)) return last;
    await sleep(200);
  }
  assert.fail(`job ${jobId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

const finished = (job: SlurmJobRecord) => TERMINAL.has(job.state);

/**
 * One island as the contract suite reaches it: both adapters' connections, who submits, where jobs
 * work, and the island's node records as its own CLI prints them (the oracle for listNodes).
 */
export interface ContractIsland {
  label: string;
  rest: IslandConnection;
  ssh: IslandConnection;
  jobUser: string;
  workdir: string;
  nodesJson(): Promise<string>;
}

/** The SlurmClient contract, for both adapters, against a REAL island. Fails, never skips, when the island's facts are missing. */
export function slurmContractSuite(load: () => ContractIsland): void {
  for (const kind of ['rest', 'ssh'] as const) {
    describe(`${kind} adapter against a live island`, () => {
      let env: ContractIsland;
      let client: SlurmClient;
      const submitted: number[] = [];

      const request = (script: string, spec: JobSpec = {}, extraEnv: Record<string, string> = {}): SlurmSubmitRequest => ({
        script,
        spec: { jobName: `arch-it-${kind}`, timeLimitMinutes: 2, ...spec },
        workingDirectory: env.workdir,
        environment: { PATH: '/usr/local/bin:/usr/bin:/bin', ...extraEnv },
        comment: `arch-it-${kind}-${process.pid}`,
      });

      before(() => {
        env = load();
        client = kind === 'rest' ? new RestSlurmClient(env.rest) : new SshSlurmClient(env.ssh);
      });

      after(async () => {
        if (!client) return;
        for (const id of submitted) await client.cancel(env.jobUser, id).catch(() => undefined);
        await client.close();
      });

      test('ping: controller is up', async () => {
        const t0 = performance.now();
        const ping = await client.ping();
        const ms = performance.now() - t0;
        assert.equal(ping.up, true);
        assert.match(ping.version, /^\d+\.\d+\.\d+$/);
        assert.ok(ping.hostname.length > 0);
        console.log(`[${env.label} ${kind}] ping ${ms.toFixed(1)} ms`);
      });

      test('submit a script as the job user; it completes with exit code 0 and the given environment', async () => {
        const t0 = performance.now();
        const res = await client.submit(
          env.jobUser,
          request(
            '#!/bin/bash\necho "hello $ARCH_GREETING from $SLURM_JOB_ID"\n',
            { output: `${env.workdir}/arch-it-%j.out` },
            { ARCH_GREETING: "it's $(not) `run`" },
          ),
        );
        console.log(`[${env.label} ${kind}] submit ${(performance.now() - t0).toFixed(1)} ms → job ${res.jobId}`);
        submitted.push(res.jobId);
        assert.ok(res.jobId > 0);
        assert.deepEqual(res.warnings, []);
        const t1 = performance.now();
        const job = await waitFor(client, res.jobId, finished);
        console.log(`[${env.label} ${kind}] submit→${job.state} ${(performance.now() - t1).toFixed(0)} ms`);
        assert.equal(job.state, 'COMPLETED');
        assert.equal(job.exitCode, 0);
        assert.equal(job.exitSignal, null);
        assert.equal(job.userName, env.jobUser);
        assert.equal(job.comment, `arch-it-${kind}-${process.pid}`);
        assert.equal(job.workingDirectory, env.workdir);
        assert.ok(job.endTime !== null && job.startTime !== null && job.submitTime !== null);
        if (client instanceof SshSlurmClient) {
          const path = `${env.workdir}/arch-it-${res.jobId}.out`;
          const whole = `hello it's $(not) \`run\` from ${res.jobId}\n`;
          await client.withFiles(env.jobUser, async (files) => {
            const st = await files.lstat(path);
            assert.ok(st && st.isFile && !st.isSymbolicLink && st.size === Buffer.byteLength(whole));
            await files.withOpenFile(path, async (file) => {
              assert.equal((await file.read(0, file.stat.size)).toString('utf8'), whole);
              assert.equal((await file.read(0, 5)).toString('utf8'), 'hello'); // end is exclusive
              assert.equal((await file.read(6, file.stat.size)).toString('utf8'), whole.slice(6));
            });
            assert.equal(await files.lstat(`${env.workdir}/arch-it-does-not-exist`), null);
          });
        }
      });

      test('a failing script reports its exit code (exit 3)', async () => {
        const res = await client.submit(env.jobUser, request('#!/bin/bash\nexit 3\n', { output: '/dev/null' }));
        submitted.push(res.jobId);
        const job = await waitFor(client, res.jobId, finished);
        assert.equal(job.state, 'FAILED');
        assert.equal(job.exitCode, 3);
        assert.equal(job.exitSignal, null);
      });

      test('hold: pending with JobHeldUser until released, then completes', async () => {
        const res = await client.submit(env.jobUser, request('#!/bin/bash\ntrue\n', { hold: true, output: '/dev/null' }));
        submitted.push(res.jobId);
        if (kind === 'rest')
          assert.ok(
            res.warnings.some((w) => /held/i.test(w)),
            `warnings: ${res.warnings.join('; ')}`,
          );
        const [held] = await client.getJob(res.jobId);
        assert.ok(held);
        assert.equal(held.state, 'PENDING');
        assert.equal(held.stateReason, 'JobHeldUser');
        await client.setHold(env.jobUser, res.jobId, false);
        const job = await waitFor(client, res.jobId, finished);
        assert.equal(job.state, 'COMPLETED');
        assert.equal(job.exitCode, 0);
      });

      test('cancel a running job; cancelling again and cancelling an unknown job are not errors', async () => {
        const res = await client.submit(env.jobUser, request('#!/bin/bash\nsleep 120\n', { output: '/dev/null' }));
        submitted.push(res.jobId);
        await waitFor(client, res.jobId, (j) => j.state === 'RUNNING' || finished(j));
        await client.cancel(env.jobUser, res.jobId);
        const job = await waitFor(client, res.jobId, finished);
        assert.equal(job.state, 'CANCELLED');
        await client.cancel(env.jobUser, res.jobId);
        await client.cancel(env.jobUser, 66_999_999);
      });

      test('getJob of an unknown id returns []', async () => {
        assert.deepEqual(await client.getJob(66_999_999), []);
      });

      test('a job for a partition that does not exist is rejected', async () => {
        await assert.rejects(client.submit(env.jobUser, request('#!/bin/bash\ntrue\n', { partition: 'no-such-partition' })), (err: unknown) => {
          assert.ok(err instanceof SlurmRejectedError, String(err));
          assert.equal(err.code, 2000);
          assert.match(err.message, /partition/i);
          return true;
        });
      });

      test('privileged users are refused before anything is sent', async () => {
        for (const user of ['root', 'slurm', '', 'bad;name']) {
          await assert.rejects(client.submit(user, request('#!/bin/bash\ntrue\n')), /privileged|invalid|empty/);
        }
      });

      test('listNodes: every node of the island, as the CLI reports it', async () => {
        const nodes = await client.listNodes();
        const cli = JSON.parse(await env.nodesJson()) as {
          nodes: Array<{ name: string; cpus: number; real_memory: number; partitions: string[] }>;
        };
        assert.deepEqual(nodes.map((n) => n.name).sort(), cli.nodes.map((n) => n.name).sort());
        for (const n of nodes) {
          const c = cli.nodes.find((x) => x.name === n.name)!;
          assert.deepEqual([n.cpus, n.realMemoryMb, n.partitions], [c.cpus, c.real_memory, c.partitions], n.name);
          assert.ok(n.idleCpus >= 0 && n.idleCpus <= n.cpus && n.state !== '', JSON.stringify(n));
        }
      });

      test('jobStates: the states of the jobs asked (unknown ids left out), or null where the adapter cannot ask by id', async () => {
        const held = await client.submit(env.jobUser, request('#!/bin/bash\ntrue\n', { hold: true, output: '/dev/null' }));
        submitted.push(held.jobId);
        const done = submitted.find((id) => id !== held.jobId)!;
        const states = await client.jobStates([held.jobId, done, 2_000_000_000]);
        const byId = kind === 'rest' && env.label === '24.11';
        if (!byId) return assert.equal(states, null, 'only slurmrestd 24.11+ answers by id');
        assert.ok(states);
        assert.deepEqual(
          states.filter((s) => s.jobId === held.jobId),
          [{ jobId: held.jobId, state: 'PENDING' }],
        );
        const [record] = await client.getJob(done);
        assert.deepEqual(
          states.filter((s) => s.jobId === done).map((s) => s.state),
          [record.state],
        );
        assert.ok(!states.some((s) => s.jobId === 2_000_000_000));
      });

      test('listJobs: snapshot, then null when nothing changed since', async () => {
        const first = await client.listJobs();
        assert.ok(first);
        assert.ok(first.jobs.some((j) => submitted.includes(j.jobId)));
        // Other users of the island may change the queue meanwhile: allow a few rounds.
        let sawNull = false;
        let since = first.asOf;
        for (let i = 0; i < 8 && !sawNull; i++) {
          await sleep(1100);
          const t0 = performance.now();
          const next = await client.listJobs(since);
          console.log(`[${env.label} ${kind}] listJobs(since) ${(performance.now() - t0).toFixed(1)} ms → ${next ? `${next.jobs.length} jobs` : 'null'}`);
          if (next === null) sawNull = true;
          else since = next.asOf;
        }
        assert.ok(sawNull, 'listJobs(since) never returned null');
      });
    });
  }
}
