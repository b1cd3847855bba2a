import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { FallbackSlurmClient } from '../../src/adapters/slurm/fallback-slurm-client';
import { loadSlurmTestEnv, restIsland, sshIsland, type SlurmTestEnv } from '../support/slurm-env';
import { corpusScripts, NAMES_OTHER_JOBS, REFUSED_BY_DESIGN } from '../support/sbatch-corpus';

/**
 * Every corpus script held on the same island twice: with native `sbatch --hold` as its user, and
 * through Archipelago (the request normalized as the API does it, then the REST adapter with its
 * SSH fallback, as local-a is configured in production-like setups). The verdicts must agree, and
 * where both accept, SLURM's own record of the two jobs (`scontrol show job`) must agree field by
 * field. Partition, QOS and constraint lines name the source centre's queues and node features:
 * they are dropped from both submissions alike (placement picks the partition in Archipelago).
 */
const TOKEN = `h15corpus-${process.pid}-${Date.now()}`;
const SITE_LINES = /^#SBATCH\s+(?:-p\s*\S+|--partition=\S+|-q\s*\S+|--qos=\S+|-C\s*\S+|--constraint=\S+)\s*(?:#.*)?$/;
const FIELDS = [
  'JobName',
  'NumNodes',
  'NumCPUs',
  'NumTasks',
  'CPUs/Task',
  'MinCPUsNode',
  'MinMemoryNode',
  'MinMemoryCPU',
  'TimeLimit',
  'Requeue',
  'MailUser',
  'MailType',
  'ArrayTaskId',
  'Dependency',
  'Account',
  'OverSubscribe',
  'TresPerNode',
  'WorkDir',
] as const;

type Verdict = { accepted: true; jobId: number } | { accepted: false; reason: string };

function scontrol(env: SlurmTestEnv, jobId: number): Record<string, string> {
  const text = execFileSync('scontrol', ['show', 'job', '-o', String(jobId)], { encoding: 'utf8', env: { ...process.env, SLURM_CONF: env.slurmConf } });
  const shown: Record<string, string> = {};
  for (const field of [...FIELDS, 'StdOut', 'StdErr']) {
    const m = new RegExp(`(?:^|\\s)${field.replace('/', '\\/')}=(\\S*)`).exec(text);
    if (m) shown[field] = m[1];
  }
  // Pending arrays print one record per remaining range; the first line is the array's.
  return shown;
}

/** Output paths carry the job's own ids: compared with them replaced. */
const withoutIds = (path: string | undefined, ids: number[]) => ids.reduce((p, id) => p?.split(String(id)).join('<id>'), path);

describe('sbatch corpus: Archipelago vs native sbatch --hold on the same island, field by field', { timeout: 300_000 }, () => {
  let env: SlurmTestEnv;
  let client: FallbackSlurmClient;
  const dir = `/home/alice/${TOKEN}`;
  const held: number[] = [];
  const tally = { compared: 0, bothRefused: 0, refusedByDesign: 0, parseOnly: 0 };

  before(() => {
    env = { ...loadSlurmTestEnv(), workdir: '/home/alice' };
    client = new FallbackSlurmClient(new RestSlurmClient(restIsland(env)), new SshSlurmClient(sshIsland(env)), 'local-a');
    mkdirSync(dir, { mode: 0o755 });
  });
  after(async () => {
    if (held.length) spawnSync('scancel', held.map(String), { env: { ...process.env, SLURM_CONF: env.slurmConf } });
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(`corpus: ${JSON.stringify(tally)}`);
  });

  function native(path: string): Verdict {
    const run = spawnSync('runuser', ['-u', env.jobUser, '--', 'sbatch', '--parsable', '-H', path], {
      encoding: 'utf8',
      cwd: env.workdir,
      env: { ...process.env, SLURM_CONF: env.slurmConf },
    });
    if (run.status !== 0) return { accepted: false, reason: run.stderr.trim() };
    const jobId = Number(run.stdout.trim().split(';')[0]);
    held.push(jobId);
    return { accepted: true, jobId };
  }

  async function ours(file: string, script: string): Promise<Verdict> {
    let job;
    try {
      job = normalizeSubmission(
        { script, scriptName: file },
        {
          slurmUser: env.jobUser,
          workdirRoots: ['/home/{user}'],
          defaultEnvironment: { PATH: '/usr/bin:/bin' },
          maxScriptBytes: 1 << 20,
          partitions: new Set(),
        },
      );
    } catch (error) {
      return { accepted: false, reason: `refused by Archipelago: ${(error as Error).message}` };
    }
    try {
      const { jobId } = await client.submit(env.jobUser, {
        script: job.script,
        spec: { ...job.spec, hold: true },
        workingDirectory: job.workingDirectory,
        environment: job.environment,
        comment: TOKEN,
      });
      held.push(jobId);
      return { accepted: true, jobId };
    } catch (error) {
      return { accepted: false, reason: `refused by SLURM: ${(error as Error).message}` };
    }
  }

  for (const { file, script: original } of corpusScripts()) {
    test(file, async () => {
      const script = original
        .split('\n')
        .filter((line) => !SITE_LINES.test(line))
        .join('\n');
      const path = join(dir, file);
      writeFileSync(path, script, { mode: 0o644 });
      if (REFUSED_BY_DESIGN[file]) {
        const verdict = await ours(file, script);
        assert.equal(verdict.accepted, false);
        assert.match((verdict as { reason: string }).reason, REFUSED_BY_DESIGN[file]);
        tally.refusedByDesign++;
        return;
      }
      if (NAMES_OTHER_JOBS(script)) {
        // Its ids would name Archipelago's jobs; the parser test covers it.
        tally.parseOnly++;
        return;
      }
      const theirs = native(path);
      const mine = await ours(file, script);
      assert.equal(mine.accepted, theirs.accepted, `native: ${JSON.stringify(theirs)}; Archipelago: ${JSON.stringify(mine)}`);
      if (!theirs.accepted || !mine.accepted) {
        tally.bothRefused++;
        return;
      }
      const a = scontrol(env, theirs.jobId);
      const b = scontrol(env, mine.jobId);
      assert.match(a.NumCPUs ?? '', /^\d+$/, `scontrol shows the native job: ${JSON.stringify(a)}`);
      const pick = (shown: Record<string, string>, ids: number[]) => ({
        ...Object.fromEntries(FIELDS.map((f) => [f, shown[f]])),
        // Archipelago names default output files itself (per-job names): compared when the script names them.
        ...(/^#SBATCH\s+(?:-o|--output)/m.test(script) ? { StdOut: withoutIds(shown.StdOut, ids) } : {}),
        ...(/^#SBATCH\s+(?:-e|--error)/m.test(script) ? { StdErr: withoutIds(shown.StdErr, ids) } : {}),
      });
      assert.deepEqual(pick(b, [mine.jobId]), pick(a, [theirs.jobId]));
      tally.compared++;
    });
  }

  test('most of the corpus is compared field by field, not only by verdict', () => {
    assert.ok(tally.compared >= 25, JSON.stringify(tally));
  });
});
