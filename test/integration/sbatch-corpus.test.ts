import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { submitFeaturesOf } from '../../src/core/sbatch/submit-features';
import type { SlurmClient } from '../../src/core/slurm/slurm-client.port';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { FallbackSlurmClient } from '../../src/adapters/slurm/fallback-slurm-client';
import { REPO } from '../support/control-plane';
import { loadSlurmTestEnv, restIsland, sshIsland } from '../support/slurm-env';
import { corpusScripts, NAMES_OTHER_JOBS, REFUSED_BY_DESIGN } from '../support/sbatch-corpus';

/**
 * Every corpus script held on the same island twice: with native `sbatch --hold` as its user, and
 * through Archipelago (the request normalized as the API does it, then the island's adapter). The
 * verdicts must agree, and where both accept, SLURM's own record of the two jobs (`scontrol show
 * job`) must agree field by field. Partition, QOS and constraint lines name the source centre's
 * queues and node features: they are dropped from both submissions alike (placement picks the
 * partition in Archipelago). Two islands: local-a (SLURM 22.05, slurmrestd v0.0.38 with the SSH
 * fallback) and local-c (SLURM 24.11, slurmrestd v0.0.40+ alone, which maps options differently).
 */
const TOKEN = `h15corpus-${process.pid}-${Date.now()}`;
const USER = process.env.ARCH_TEST_JOB_USER || 'alice';
const WORKDIR = `/home/${USER}`;
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

/** Runs a SLURM command where the island's SLURM lives (the host's, or local-c's Debian root), optionally as the job's user. */
function islandCommand(island: string, argv: string[], asUser = false) {
  const as = asUser ? ['-u', USER] : [];
  return spawnSync('bash', [`${REPO}/slurm/local/island-exec.sh`, ...as, island, ...argv], { encoding: 'utf8' });
}

function scontrol(island: string, jobId: number): Record<string, string> {
  const run = islandCommand(island, ['scontrol', 'show', 'job', '-o', String(jobId)]);
  assert.equal(run.status, 0, run.stderr);
  const shown: Record<string, string> = {};
  for (const field of [...FIELDS, 'StdOut', 'StdErr']) {
    const m = new RegExp(`(?:^|\\s)${field.replace('/', '\\/')}=(\\S*)`).exec(run.stdout);
    if (m) shown[field] = m[1];
  }
  return shown;
}

/** Output paths carry the job's own ids: compared with them replaced. */
const withoutIds = (path: string | undefined, id: number) => path?.replace(new RegExp(`(?<!\\d)${id}(?!\\d)`, 'g'), '<id>');

function corpusComparison(island: string, makeClient: () => SlurmClient, minimumCompared: number): void {
  describe(`sbatch corpus on ${island}: Archipelago vs native sbatch --hold, field by field`, { timeout: 300_000 }, () => {
    let client: SlurmClient;
    let unsendable: readonly string[] = [];
    const dir = `${WORKDIR}/${TOKEN}-${island}`;
    const held: number[] = [];
    const tally = { compared: 0, bothRefused: 0, refusedByDesign: 0, parseOnly: 0, placedElsewhere: 0 };

    before(async () => {
      client = makeClient();
      unsendable = await client.unsendable();
      mkdirSync(dir, { mode: 0o755 });
    });
    after(async () => {
      if (held.length) islandCommand(island, ['scancel', ...held.map(String)]);
      await client?.close();
      rmSync(dir, { recursive: true, force: true });
      console.log(`corpus on ${island}: ${JSON.stringify(tally)}`);
    });

    function native(path: string): Verdict {
      const run = islandCommand(island, ['sbatch', '--parsable', '-H', path], true);
      if (run.status !== 0) return { accepted: false, reason: run.stderr.trim() };
      const jobId = Number(run.stdout.trim().split(';')[0]);
      held.push(jobId);
      return { accepted: true, jobId };
    }

    function normalized(file: string, script: string) {
      return normalizeSubmission(
        { script, scriptName: file },
        { slurmUser: USER, workdirRoots: ['/home/{user}'], defaultEnvironment: { PATH: '/usr/bin:/bin' }, maxScriptBytes: 1 << 20, partitions: new Set() },
      );
    }

    async function ours(file: string, script: string): Promise<Verdict> {
      let job;
      try {
        job = normalized(file, script);
      } catch (error) {
        return { accepted: false, reason: `refused by Archipelago: ${(error as Error).message}` };
      }
      try {
        const { jobId } = await client.submit(USER, {
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
        if (submitFeaturesOf(normalized(file, script).spec).some((feature) => unsendable.includes(feature))) {
          // Placement keeps it off this island (test/integration/unsendable-placement.test.ts).
          tally.placedElsewhere++;
          return;
        }
        const theirs = native(path);
        const mine = await ours(file, script);
        assert.equal(mine.accepted, theirs.accepted, `native: ${JSON.stringify(theirs)}; Archipelago: ${JSON.stringify(mine)}`);
        if (!theirs.accepted || !mine.accepted) {
          tally.bothRefused++;
          return;
        }
        const a = scontrol(island, theirs.jobId);
        const b = scontrol(island, mine.jobId);
        assert.match(a.NumCPUs ?? '', /^\d+$/, `scontrol shows the native job: ${JSON.stringify(a)}`);
        const pick = (shown: Record<string, string>, id: number) => ({
          ...Object.fromEntries(FIELDS.map((f) => [f, shown[f]])),
          // Archipelago names default output files itself (per-job names): compared when the script names them.
          ...(/^#SBATCH\s+(?:-o|--output)/m.test(script) ? { StdOut: withoutIds(shown.StdOut, id) } : {}),
          ...(/^#SBATCH\s+(?:-e|--error)/m.test(script) ? { StdErr: withoutIds(shown.StdErr, id) } : {}),
        });
        assert.deepEqual(pick(b, mine.jobId), pick(a, theirs.jobId));
        tally.compared++;
      });
    }

    test('most of the corpus is compared field by field, not only by verdict', () => {
      assert.ok(tally.compared >= minimumCompared, JSON.stringify(tally));
    });
  });
}

corpusComparison(
  'local-a',
  () => {
    const env = loadSlurmTestEnv();
    return new FallbackSlurmClient(new RestSlurmClient(restIsland(env)), new SshSlurmClient(sshIsland(env)), 'local-a');
  },
  30,
);

corpusComparison(
  'local-c',
  () => {
    const settings = parseIslandsFile(join(process.env.ARCH_STACK_DIR ?? join(REPO, '.stack'), 'islands.json')).find((i) => i.connection.name === 'local-c');
    assert.ok(settings, 'local-c is in the stack islands file (scripts/stack/infra-up.sh)');
    return new RestSlurmClient(settings.connection);
  },
  30,
);
