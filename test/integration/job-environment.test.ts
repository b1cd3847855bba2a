import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import type { SlurmClient } from '../../src/core/slurm/slurm-client.port';
import { loadSlurmTestEnv, restIsland, sshIsland, type SlurmTestEnv } from '../support/slurm-env';

/**
 * The environment a job sees, submitted through each adapter, against the same job submitted with
 * native sbatch from the job user's login shell on the same island: the REST adapter on the
 * island of ARCH_TEST_SLURM_CONF (local-a), the SSH adapter on ARCH_TEST_SSH_SLURM_CONF (default
 * local-b). Each job writes its batch shell's environment and that of task 0 of an `srun` step.
 */

const SSH_SLURM_CONF = process.env.ARCH_TEST_SSH_SLURM_CONF || '/etc/archipelago/islands/local-b/slurm.conf';
const TOKEN = `h15env-${process.pid}-${Date.now()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `<prefix>-<jobid>.batch` and `.step` (srun task 0) into the working directory. */
const SCRIPT = `#!/bin/bash
env | sort > "${TOKEN}-$SLURM_JOB_ID.batch.tmp"; mv "${TOKEN}-$SLURM_JOB_ID.batch.tmp" "${TOKEN}-$SLURM_JOB_ID.batch"
srun /bin/sh -c 'if [ "$SLURM_PROCID" = 0 ]; then /usr/bin/env; fi' | sort > "${TOKEN}-$SLURM_JOB_ID.step.tmp"
mv "${TOKEN}-$SLURM_JOB_ID.step.tmp" "${TOKEN}-$SLURM_JOB_ID.step"
`;

/** Variables whose values belong to one job, node or process: present in both, values not compared. */
const PER_RUN = new Set([
  'SLURM_JOB_ID',
  'SLURM_JOBID',
  'SLURM_TASK_PID',
  'SLURM_JOB_NODELIST',
  'SLURM_NODELIST',
  'SLURMD_NODENAME',
  'HOSTNAME',
  'SLURM_TOPOLOGY_ADDR',
  'SLURM_STEP_NODELIST',
  'SLURM_SRUN_COMM_PORT',
  'SLURM_STEP_LAUNCHER_PORT',
  'SLURM_JOB_NAME',
]);

type Env = Map<string, string>;

function parseEnv(text: string): Env {
  const env: Env = new Map();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(line.slice(0, eq))) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

async function waitForFiles(workdir: string, jobId: number, timeoutMs = 60_000): Promise<{ batch: Env; step: Env }> {
  const base = `${workdir}/${TOKEN}-${jobId}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(`${base}.batch`) && existsSync(`${base}.step`)) {
      return { batch: parseEnv(readFileSync(`${base}.batch`, 'utf8')), step: parseEnv(readFileSync(`${base}.step`, 'utf8')) };
    }
    await sleep(250);
  }
  assert.fail(`job ${jobId} wrote no environment files ${base}.{batch,step} within ${timeoutMs} ms`);
}

/** sbatch as the job user from a login shell (`runuser -l`), as a researcher on the island would. */
function nativeSbatch(env: SlurmTestEnv, slurmConf: string, argv: string[], scriptPath: string): number {
  const quoted = [...argv, scriptPath].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // At nice 0, whatever this test runs at: sbatch records its own nice (SLURM_PRIO_PROCESS), and a
  // researcher's login shell runs at 0, as Archipelago's derived value says.
  const toZero = String(-getPriority());
  const out = execFileSync(
    'nice',
    ['-n', toZero, 'runuser', '-l', env.jobUser, '-c', `cd '${env.workdir}' && SLURM_CONF='${slurmConf}' sbatch --parsable ${quoted}`],
    {
      encoding: 'utf8',
    },
  );
  return Number(out.trim().split(';')[0]);
}

/** The same request both ways: sbatch options and the JobSpec they parse to. */
interface Case {
  title: string;
  argv: string[];
  spec: JobSpec;
  environment: Record<string, string>;
  /** Names whose values must be equal in the batch shell (besides every SLURM_* sbatch set natively). */
  sameValues: string[];
  /** Names that must also reach task 0 of an srun step with the same value. */
  stepValues?: string[];
  /** SLURM_* names present in both whose values differ on purpose, and why. */
  differentValues?: Record<string, string>;
}

const CASES: Case[] = [
  {
    title: '-N1 -n2 -c2 --ntasks-per-node=2 --open-mode=append (default --export=ALL)',
    argv: ['-N1', '-n2', '-c2', '--ntasks-per-node=2', '--open-mode=append', '-t', '2', '-o', '/dev/null'],
    spec: { nodes: { min: 1 }, ntasks: 2, cpusPerTask: 2, ntasksPerNode: 2, openMode: 'append', timeLimitMinutes: 2, output: '/dev/null' },
    // What the control plane sends for ALL: its default PATH (the caller's shell is remote).
    environment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    sameValues: ['HOME', 'USER', 'LOGNAME', 'SHELL'],
  },
  {
    title: '--export=NONE -c3',
    argv: ['--export=NONE', '-c3', '-t', '2', '-o', '/dev/null'],
    spec: { cpusPerTask: 3, timeLimitMinutes: 2, output: '/dev/null', export: { mode: 'NONE', variables: {} } },
    environment: { SLURM_EXPORT_ENV: 'NONE' },
    sameValues: ['HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'MAIL'],
  },
  {
    title: '--export=H15VAR=bar (a list: only it, plus the login environment)',
    argv: ['--export=H15VAR=bar', '-t', '2', '-o', '/dev/null'],
    spec: { timeLimitMinutes: 2, output: '/dev/null', export: { mode: 'NONE', variables: { H15VAR: 'bar' } } },
    // What normalizeSubmission stores for it.
    environment: { H15VAR: 'bar', SLURM_EXPORT_ENV: 'H15VAR' },
    sameValues: ['H15VAR', 'HOME', 'USER', 'PATH'],
    stepValues: ['H15VAR'],
    differentValues: { SLURM_EXPORT_ENV: 'sbatch records the list as written (H15VAR=bar), Archipelago its names: srun exports the same' },
  },
];

for (const kind of ['rest', 'ssh'] as const) {
  describe(`job environment through the ${kind} adapter matches native sbatch on the same island`, () => {
    let env: SlurmTestEnv;
    let client: SlurmClient;
    let slurmConf: string;
    let scriptPath: string;
    const jobs: number[] = [];

    before(() => {
      env = loadSlurmTestEnv();
      slurmConf = kind === 'rest' ? env.slurmConf : SSH_SLURM_CONF;
      assert.ok(existsSync(slurmConf), `island configuration ${slurmConf} is missing (set ARCH_TEST_SSH_SLURM_CONF)`);
      if (kind === 'rest') client = new RestSlurmClient(restIsland(env));
      else {
        const island = sshIsland(env);
        client = new SshSlurmClient({ ...island, ssh: { ...island.ssh!, commandEnvironment: { SLURM_CONF: slurmConf } } });
      }
      scriptPath = `${env.workdir}/${TOKEN}-${kind}.sh`;
      writeFileSync(scriptPath, SCRIPT, { mode: 0o755 });
    });

    after(async () => {
      for (const id of jobs) {
        await client.cancel(env.jobUser, id).catch(() => undefined);
        for (const ext of ['batch', 'step']) rmSync(`${env.workdir}/${TOKEN}-${id}.${ext}`, { force: true });
      }
      rmSync(scriptPath, { force: true });
      await client?.close();
    });

    for (const c of CASES) {
      test(c.title, async () => {
        const nativeId = nativeSbatch(env, slurmConf, ['-J', `${TOKEN}-n`, ...c.argv], scriptPath);
        jobs.push(nativeId);
        const submitted = await client.submit(env.jobUser, {
          script: SCRIPT,
          spec: { jobName: `${TOKEN}-a`, ...c.spec },
          workingDirectory: env.workdir,
          environment: c.environment,
          comment: TOKEN,
        });
        jobs.push(submitted.jobId);
        const native = await waitForFiles(env.workdir, nativeId);
        const ours = await waitForFiles(env.workdir, submitted.jobId);

        for (const name of c.sameValues) {
          assert.ok(native.batch.has(name), `native sbatch set ${name}`);
          assert.equal(ours.batch.get(name), native.batch.get(name), `batch ${name}`);
        }
        // Every SLURM_* variable native sbatch gave the batch shell, ours has too, with the same value.
        for (const [name, value] of native.batch) {
          if (!name.startsWith('SLURM')) continue;
          assert.ok(ours.batch.has(name), `batch shell lacks ${name} (native: ${value})`);
          if (!PER_RUN.has(name) && !c.differentValues?.[name]) assert.equal(ours.batch.get(name), value, `batch ${name}`);
        }
        for (const name of c.stepValues ?? []) {
          assert.ok(native.step.has(name), `native srun step has ${name}`);
          assert.equal(ours.step.get(name), native.step.get(name), `step ${name}`);
        }
        // Ours adds exactly one SLURM_* variable native sbatch leaves out for plain ALL: the login environment request.
        const extra = [...ours.batch.keys()].filter((name) => name.startsWith('SLURM') && !native.batch.has(name));
        assert.deepEqual(extra, native.batch.has('SLURM_GET_USER_ENV') ? [] : ['SLURM_GET_USER_ENV']);
        // srun steps see the same: SLURM_CPUS_PER_TASK becomes the step's -c.
        for (const [name, value] of native.step) {
          if (!name.startsWith('SLURM')) continue;
          assert.ok(ours.step.has(name), `srun step lacks ${name} (native: ${value})`);
          if (!PER_RUN.has(name) && !c.differentValues?.[name]) assert.equal(ours.step.get(name), value, `step ${name}`);
        }
        if (c.spec.cpusPerTask !== undefined) {
          assert.equal(ours.batch.get('SLURM_CPUS_PER_TASK'), String(c.spec.cpusPerTask));
        }
      });
    }
  });
}
