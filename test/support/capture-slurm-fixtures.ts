import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './control-plane';

/**
 * Captures real JSON from a running SLURM 24.11 island with accounting into test/fixtures/slurm-24.11/
 * (how and why: that directory's README). It submits its own jobs as the job owner, so run it on a
 * freshly started island nobody else uses:
 *
 *   ISLAND_ROOT=trixie ACCOUNTING=1 slurm/local/island-up.sh local-c 8      (or scripts/stack/infra-up.sh)
 *   bash scripts/build.sh && node dist/test/support/capture-slurm-fixtures.js [island] [out dir]
 */
const ISLAND = process.argv[2] ?? 'local-c';
const OUT = process.argv[3] ?? join(REPO, 'test/fixtures/slurm-24.11');
const OWNER = 'alice';
const EXEC = join(REPO, 'slurm/local/island-exec.sh');

const env = Object.fromEntries(
  readFileSync(`/etc/archipelago/islands/${ISLAND}/env`, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const READ_USER: string = JSON.parse(readFileSync(`/etc/archipelago/islands/${ISLAND}/island.json`, 'utf8')).readUser;
const VERSIONS = env.SLURM_REST_APIS.split(',');
if (!env.SLURM_VERSION.startsWith('24.11.') || env.ACCOUNTING !== '1') {
  throw new Error(`${ISLAND} must run SLURM 24.11 with accounting (it runs ${env.SLURM_VERSION}, ACCOUNTING=${env.ACCOUNTING})`);
}

function sh(args: string[], user?: string): { exit: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(EXEC, [...(user ? ['-u', user] : []), ISLAND, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { exit: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { exit: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

function token(user: string): string {
  const out = sh(['scontrol', 'token', `username=${user}`, 'lifespan=900']).stdout;
  const jwt = /^SLURM_JWT=(\S+)$/m.exec(out)?.[1];
  if (!jwt) throw new Error(`no token for ${user}: ${out}`);
  return jwt;
}
const TOKENS = { [OWNER]: token(OWNER), [READ_USER]: token(READ_USER) };

interface Exchange {
  request: { method: string; path: string; user: string; body?: unknown };
  status: number;
  body: unknown;
}

async function rest(method: string, path: string, user: string, body?: unknown, jwt = TOKENS[user]): Promise<Exchange> {
  const res = await fetch(`${env.SLURM_REST_URL}${path}`, {
    method,
    headers: { 'X-SLURM-USER-NAME': user, 'X-SLURM-USER-TOKEN': jwt, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // slurmrestd answers some errors (401) in plain text: kept as a string
  }
  return { request: { method, path, user, ...(body ? { body } : {}) }, status: res.status, body: parsed };
}

function save(file: string, content: unknown): void {
  const path = join(OUT, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(content, null, 2) + '\n');
  console.log(`captured ${file}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, seconds: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const TAG = 'archipelago:fixtures:job=';
function sbatch(name: string, args: string[]): number {
  const out = sh(['sbatch', '--parsable', `--job-name=${name}`, `--comment=${TAG}${name}`, `--output=fx-${name}-%j.out`, ...args], OWNER);
  if (out.exit !== 0) throw new Error(`sbatch ${name}: ${out.stderr}`);
  return Number(out.stdout.trim().split(';')[0]);
}
function states(ids: number[]): Map<number, string> {
  const out = sh(['squeue', '-h', '-t', 'all', '-o', '%i %T', '-j', ids.join(',')]).stdout;
  return new Map(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [Number(l.split(/[_ ]/)[0]), l.split(' ')[1]] as [number, string]),
  );
}
function cli(file: string, args: string[], user: string): void {
  const out = sh(args, user);
  save(file, { command: args.join(' '), user, exit: out.exit, stdout: JSON.parse(out.stdout) });
}

async function main(): Promise<void> {
  // ---- the jobs: each a state the adapters must read right -----------------------------------------
  const jobs = {
    array: sbatch('array', ['--array=0-2', '--wrap', 'echo task $SLURM_ARRAY_TASK_ID']),
    multi: sbatch('multi', ['--nodes=2', '--ntasks-per-node=1', '--time=5', '--wrap', 'srun hostname; sleep 8']),
    failed: sbatch('failed', ['--wrap', 'echo failing >&2; exit 3']),
    cancelled: sbatch('cancelled', ['--wrap', 'sleep 300']),
    held: sbatch('held', ['--hold', '--wrap', 'true']),
  };
  const all = Object.values(jobs);
  await until('the cancel candidate and the multi-node job running', 60, () => {
    const s = states(all);
    return s.get(jobs.cancelled) === 'RUNNING' && s.get(jobs.multi) === 'RUNNING';
  });
  if (sh(['scancel', String(jobs.cancelled)], OWNER).exit !== 0) throw new Error('scancel failed');
  await until('array, failed and cancelled finished', 60, () => {
    const s = sh(['squeue', '-h', '-t', 'all', '-o', '%i %T', '-j', [jobs.array, jobs.failed, jobs.cancelled].join(',')]).stdout;
    return !/ (PENDING|RUNNING|COMPLETING|CONFIGURING)$/m.test(s) && s.trim().split('\n').length === 5;
  });
  const sinceMultiRuns = Math.floor(Date.now() / 1000);

  // ---- while the multi-node job runs --------------------------------------------------------------
  for (const v of VERSIONS) {
    save(`rest/${v}/jobs-while-multi-runs.json`, await rest('GET', `/slurm/${v}/jobs/`, READ_USER));
    save(`rest/${v}/job-multi-running.json`, await rest('GET', `/slurm/${v}/job/${jobs.multi}`, READ_USER));
  }
  cli('cli/squeue-while-multi-runs.json', ['squeue', '--json'], OWNER);

  await until('the multi-node job finished', 60, () => states([jobs.multi]).get(jobs.multi) === 'COMPLETED');
  // a record reads COMPLETED ~0.1 s after the end, but its name and nodes can lag (slurm/local/README.md);
  // the held job never appears in this listing (pending jobs are left out), only under /slurmdb/<v>/job/<id>
  await until('accounting records of every job final', 60, async () => {
    const res = await rest('GET', `/slurmdb/v0.0.42/jobs/?users=${OWNER}`, READ_USER);
    const records = (res.body as { jobs?: Array<{ name: string; state: { current: string[] }; nodes: string }> }).jobs ?? [];
    const finals = (name: string, state: string) => records.filter((r) => r.name === name && r.state.current[0] === state).length;
    return (
      finals('array', 'COMPLETED') === 3 &&
      finals('failed', 'FAILED') === 1 &&
      finals('cancelled', 'CANCELLED') === 1 &&
      records.some((r) => r.name === 'multi' && r.state.current[0] === 'COMPLETED' && r.nodes.includes('['))
    );
  });

  // quiet: slurmctld has nothing newer than "now" to report (the listings below must not race a change)
  await until('the queue quiet', 30, async () => {
    await sleep(1000);
    const res = await rest('GET', '/slurm/v0.0.42/jobs/?update_time=now', READ_USER);
    return (res.body as { jobs?: unknown[] }).jobs?.length === 0;
  });

  // ---- every version: the listings, each job, nodes, accounting (nothing changes meanwhile) -------
  for (const v of VERSIONS) {
    save(`rest/${v}/ping.json`, await rest('GET', `/slurm/${v}/ping/`, READ_USER));
    save(`rest/${v}/jobs.json`, await rest('GET', `/slurm/${v}/jobs/`, READ_USER));
    // update_time is all or nothing: nothing changed since then = no jobs; anything changed = all of them.
    // v0.0.40/41 parse it as a Slurm time string (now-<seconds>, YYYY-MM-DDTHH:MM:SS) and refuse an epoch.
    save(`rest/${v}/jobs-update-time-epoch.json`, await rest('GET', `/slurm/${v}/jobs/?update_time=${sinceMultiRuns}`, READ_USER));
    save(`rest/${v}/jobs-update-time-unchanged.json`, await rest('GET', `/slurm/${v}/jobs/?update_time=now`, READ_USER));
    const age = Math.floor(Date.now() / 1000) - sinceMultiRuns;
    save(`rest/${v}/jobs-update-time-changed.json`, await rest('GET', `/slurm/${v}/jobs/?update_time=now-${age}`, READ_USER));
    save(`rest/${v}/jobs-state.json`, await rest('GET', `/slurm/${v}/jobs/state/`, READ_USER));
    // several ids: the parameter repeated (the spec's "CSV list" is refused, with , and with %2C); an id
    // slurmctld does not know (never, or purged after MinJobAge) is left out of the answer
    save(
      `rest/${v}/jobs-state-some.json`,
      await rest('GET', `/slurm/${v}/jobs/state/?job_id=${jobs.array}&job_id=${jobs.multi}&job_id=999999&job_id=${jobs.held}`, READ_USER),
    );
    save(`rest/${v}/jobs-state-csv.json`, await rest('GET', `/slurm/${v}/jobs/state/?job_id=${jobs.multi}%2C${jobs.failed}`, READ_USER));
    for (const [name, id] of Object.entries(jobs)) {
      save(`rest/${v}/job-${name}.json`, await rest('GET', `/slurm/${v}/job/${id}`, READ_USER));
      save(`rest/${v}/slurmdb-job-${name}.json`, await rest('GET', `/slurmdb/${v}/job/${id}`, READ_USER));
    }
    save(`rest/${v}/slurmdb-jobs.json`, await rest('GET', `/slurmdb/${v}/jobs/?users=${OWNER}`, READ_USER));
    save(`rest/${v}/nodes.json`, await rest('GET', `/slurm/${v}/nodes/`, READ_USER));
  }

  // ---- every version: submit and its errors, cancel (these change the queue: after the listings) ----
  for (const v of VERSIONS) {
    const home = `/home/${OWNER}`;
    const job = {
      name: `rest-${v}`,
      partition: 'debug',
      comment: `${TAG}rest-${v}`,
      current_working_directory: home,
      standard_output: `${home}/fx-rest-${v}-%j.out`,
      environment: ['PATH=/usr/local/bin:/usr/bin:/bin'],
      script: '#!/bin/bash\necho submitted over REST\n',
    };
    save(`rest/${v}/submit.json`, await rest('POST', `/slurm/${v}/job/submit`, OWNER, { job }));
    const { current_working_directory: _cwd, ...noCwd } = job;
    save(`rest/${v}/submit-no-working-directory.json`, await rest('POST', `/slurm/${v}/job/submit`, OWNER, { job: noCwd }));
    const { environment: _env, ...noEnvironment } = job;
    save(`rest/${v}/submit-no-environment.json`, await rest('POST', `/slurm/${v}/job/submit`, OWNER, { job: noEnvironment }));
    const { script: _script, ...noScript } = job;
    save(`rest/${v}/submit-no-script.json`, await rest('POST', `/slurm/${v}/job/submit`, OWNER, { job: noScript }));
    save(`rest/${v}/submit-unknown-partition.json`, await rest('POST', `/slurm/${v}/job/submit`, OWNER, { job: { ...job, partition: 'nosuch' } }));
    save(`rest/${v}/cancel-unknown-job.json`, await rest('DELETE', `/slurm/${v}/job/999999`, OWNER));
    save(`rest/${v}/cancel-held-as-other-user.json`, await rest('DELETE', `/slurm/${v}/job/${jobs.held}`, READ_USER));
    save(`rest/${v}/bad-token.json`, await rest('GET', `/slurm/${v}/jobs/`, READ_USER, undefined, `${TOKENS[READ_USER].slice(0, -4)}AAAA`));
  }

  // ---- the ssh adapter's view: the commands' own JSON, run as the job owner ----------------------
  cli('cli/squeue.json', ['squeue', '--json'], OWNER);
  cli('cli/sinfo.json', ['sinfo', '--json'], OWNER);
  cli('cli/sacct.json', ['sacct', '--json', '-j', all.join(',')], OWNER);

  save('jobs.json', {
    island: ISLAND,
    slurm: env.SLURM_VERSION,
    owner: OWNER,
    readUser: READ_USER,
    capturedAt: new Date().toISOString(),
    updateTimeQuery: sinceMultiRuns,
    jobs,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
