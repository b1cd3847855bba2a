import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseSubmission } from '../../src/core/sbatch/parse-sbatch';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { loadSlurmTestEnv, restIsland, sshIsland, type SlurmTestEnv } from '../support/slurm-env';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { FallbackSlurmClient } from '../../src/adapters/slurm/fallback-slurm-client';

/**
 * The same script, held, submitted with native sbatch and through the REST adapter (parsed by
 * Archipelago's sbatch parser) to the same island: SLURM must record the same resources and mail
 * types (`scontrol show job`), i.e. Archipelago applies sbatch's own derivations.
 */

const TOKEN = `h15der-${process.pid}-${Date.now()}`;
const FIELDS = ['NumNodes', 'NumCPUs', 'NumTasks', 'CPUs/Task', 'MailType'] as const;

function shown(env: SlurmTestEnv, jobId: number): Record<string, string> {
  const text = execFileSync('scontrol', ['show', 'job', String(jobId)], { encoding: 'utf8', env: { ...process.env, SLURM_CONF: env.slurmConf } });
  const out: Record<string, string> = {};
  for (const field of FIELDS) out[field] = new RegExp(`\\b${field.replace('/', '\\/')}=(\\S*)`).exec(text)?.[1] ?? '';
  return out;
}

const CASES: Array<{ title: string; directives: string[] }> = [
  { title: 'fewer tasks than nodes lowers the node count (-N3 -n2)', directives: ['-N3', '-n2'] },
  { title: 'fewer tasks than the node range (-N2-3 -n1)', directives: ['-N2-3', '-n1'] },
  { title: 'a range above the task count (-N1-3 -n2)', directives: ['-N1-3', '-n2'] },
  { title: 'nodes × cpus-per-task CPUs without -n (-N2 -c2)', directives: ['-N2', '-c2'] },
  { title: 'one CPU per node without -n or -c (-N2)', directives: ['-N2'] },
  { title: 'tasks per node without -n (-N2 --ntasks-per-node=2 -c2)', directives: ['-N2', '--ntasks-per-node=2', '-c2'] },
  { title: 'mail types with a blank (sbatch keeps END only)', directives: ['--mail-type="END, FAIL"', '--mail-user=alice@example.org'] },
  { title: '--signal without B: and --threads-per-core', directives: ['--signal=USR1@60', '--threads-per-core=1', '-n2'] },
];

describe('sbatch derivations: REST adapter vs native sbatch on the same island', () => {
  let env: SlurmTestEnv;
  let client: RestSlurmClient;
  const jobs: number[] = [];
  const scripts: string[] = [];

  before(() => {
    env = loadSlurmTestEnv();
    client = new RestSlurmClient(restIsland(env));
  });

  after(async () => {
    for (const id of jobs) await client.cancel(env.jobUser, id).catch(() => undefined);
    for (const path of scripts) rmSync(path, { force: true });
    await client?.close();
  });

  CASES.forEach((c, index) => {
    test(c.title, async () => {
      const script = `#!/bin/bash\n${c.directives.map((d) => `#SBATCH ${d}`).join('\n')}\n#SBATCH -o /dev/null\ntrue\n`;
      const path = `${env.workdir}/${TOKEN}-${index}.sh`;
      writeFileSync(path, script, { mode: 0o644 });
      scripts.push(path);
      const out = execFileSync('runuser', ['-u', env.jobUser, '--', 'sbatch', '--parsable', '-H', '-J', TOKEN, path], {
        encoding: 'utf8',
        cwd: env.workdir,
        env: { ...process.env, SLURM_CONF: env.slurmConf },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const nativeId = Number(out.trim());
      jobs.push(nativeId);
      const { spec } = parseSubmission(script);
      const ours = await client.submit(env.jobUser, {
        script,
        spec: { ...spec, jobName: TOKEN, hold: true },
        workingDirectory: env.workdir,
        environment: { PATH: '/usr/bin:/bin' },
        comment: TOKEN,
      });
      jobs.push(ours.jobId);
      const native = shown(env, nativeId);
      assert.match(native.NumCPUs, /^\d+$/, 'scontrol shows the native job');
      assert.deepEqual(shown(env, ours.jobId), native);
    });
  });

  test('--signal=B:USR1@55 on an island with an SSH fallback: sent with sbatch, and the batch shell gets USR1', async () => {
    const marker = `${env.workdir}/${TOKEN}-usr1`;
    const withSsh = new FallbackSlurmClient(new RestSlurmClient(restIsland(env)), new SshSlurmClient(sshIsland(env)), 'local-a');
    try {
      // bash runs a trap once the foreground command ends: short sleeps let it answer within a second.
      const script = `#!/bin/bash\ntrap 'echo got-USR1 > ${marker}; exit 0' USR1\nfor i in $(seq 1 120); do sleep 1; done\n`;
      const { spec } = parseSubmission(script, { signal: 'B:USR1@55', time: 1, output: '/dev/null', 'job-name': TOKEN });
      const submitted = await withSsh.submit(env.jobUser, {
        script,
        spec,
        workingDirectory: env.workdir,
        environment: { PATH: '/usr/bin:/bin' },
        comment: TOKEN,
      });
      jobs.push(submitted.jobId);
      // slurmctld checks warning signals on its periodic timer (about every 30 s).
      const deadline = Date.now() + 90_000;
      while (!existsSync(marker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(existsSync(marker) ? readFileSync(marker, 'utf8') : 'no signal within 90 s', 'got-USR1\n');
    } finally {
      rmSync(marker, { force: true });
      await withSsh.close();
    }
  });
});
