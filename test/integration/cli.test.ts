import { Secp256k1HdWallet } from '@cosmjs/amino';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, freePort, REPO, TERMINAL } from '../support/control-plane';
import { dashboardQueries, declaredNames, groupingLabels, parseExposition, selectors } from '../support/promql';

const CLI = join(REPO, 'dist/src/apps/cli/main.js');

/** Prometheus text format → samples; labels compared as a set. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

function sum(text: string, name: string, where: Record<string, string> = {}): number {
  return samples(text, name)
    .filter((s) => Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The built `archipelago` CLI against the real control plane and SLURM island local-a: every
 * command runs as a child process, as a researcher would run it, with its own HOME (config file).
 */
describe('archipelago CLI end to end (island local-a)', { timeout: 300_000 }, () => {
  let workerMetricsPort = 0;
  let cp: ControlPlane;
  const home = mkdtempSync(join(tmpdir(), 'obs-cli-home-'));
  let alice: { id: string; key: string };

  const cli = (args: string[], extraEnv: Record<string, string> = {}, input?: string): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ARCHIPELAGO_URL: cp.url, ...extraEnv };
      const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });

  const scriptFile = (name: string, lines: string[]) => {
    const path = join(home, name);
    writeFileSync(path, ['#!/bin/bash', ...lines, ''].join('\n'));
    return path;
  };

  before(async () => {
    workerMetricsPort = await freePort();
    cp = new ControlPlane('obscli', { islands: [{ name: 'local-a' }], redisDb: 8, env: { METRICS_PORT: String(workerMetricsPort) } });
    await cp.start();
    alice = await cp.researcher('alice', 'alice');
  });
  after(async () => {
    await cp.stop();
  });

  it('login refuses a wrong key (exit 77) and stores a good one readable only by its owner', async () => {
    const wrong = await cli(['login', '--api-key', 'ak_this_key_does_not_exist_anywhere']);
    assert.equal(wrong.code, 77, wrong.stderr);
    assert.match(wrong.stderr, /HTTP 401/);
    const good = await cli(['login', '--api-key', '-'], {}, `${alice.key}\n`);
    assert.equal(good.code, 0, good.stderr);
    const path = join(home, '.config/archipelago/config.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(saved, { url: cp.url, credentials: { kind: 'api-key', apiKey: alice.key } });
    assert.ok(!good.stderr.includes(alice.key), 'the key is never echoed');
  });

  it('sbatch without -J names the job after the script file, and %x follows, as sbatch does', async () => {
    const name = `named-${process.pid}-${Date.now()}.sh`;
    const path = scriptFile(name, ['#SBATCH --time=00:02:00', '#SBATCH --output=%x-%j.out', 'echo "name=$SLURM_JOB_NAME"']);
    const submitted = await cli(['sbatch', '--parsable', '--wait', path]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const history = await cli(['sacct', '-j', id, '--json']);
    const [job] = JSON.parse(history.stdout).jobs;
    assert.equal(job.name, name);
    assert.equal(job.options.jobName, name);
    const out = await cli(['output', id]);
    assert.equal(out.stdout, `name=${name}\n`);
    // SLURM expanded %x with the same name: the file is named after the script.
    const found = readdirSync('/home/alice').filter((f) => f.startsWith(`${name}-`) && f.endsWith('.out'));
    assert.equal(found.length, 1, `expected one ${name}-<id>.out in /home/alice`);
    rmSync(`/home/alice/${found[0]}`, { force: true });
  });

  it('sbatch --wrap runs the command in the script sbatch would make, as a job named wrap', async () => {
    const token = `wrap-${process.pid}-${Date.now()}`;
    const submitted = await cli(['sbatch', '--parsable', '--wait', '-t', '2', `--wrap=echo ${token} $SLURM_JOB_NAME $0`]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const out = await cli(['output', id]);
    assert.match(out.stdout, new RegExp(`^${token} wrap \\S+\\n$`));
    const [job] = JSON.parse((await cli(['sacct', '-j', id, '--json'])).stdout).jobs;
    assert.equal(job.name, 'wrap');
  });

  it("sacct lists an array task by task with each task's own usage, as sacct does", async () => {
    const submitted = await cli(['sbatch', '--parsable', '--wait', '-t', '2', '-c', '2', '--array=0-1', '--wrap=sleep 1']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const table = await cli(['sacct', '-j', id, '--noheader']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s+/)[0]),
      [`${id}_0`, `${id}_1`],
      table.stdout,
    );
    const seconds = (text: string) => text.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
    for (const line of lines) {
      // JobID JobName Partition Island State ExitCode ReqCPUS Elapsed CPUTime ...
      const [, , , , state, exitCode, reqCpus, elapsed, cpuTime] = line.split(/\s+/);
      assert.deepEqual([state, exitCode, reqCpus], ['COMPLETED', '0:0', '2'], line);
      assert.ok(seconds(elapsed) >= 1, line);
      assert.equal(seconds(cpuTime), 2 * seconds(elapsed), line);
    }
    const json = JSON.parse((await cli(['sacct', '-j', id, '--json'])).stdout);
    assert.deepEqual(
      json.jobs[0].tasks.map((t: any) => [t.arrayTaskId, t.state, t.island]),
      [
        [0, 'COMPLETED', 'local-a'],
        [1, 'COMPLETED', 'local-a'],
      ],
    );
    // squeue -r lists the tasks of an array one per line; an ended array is not in the queue.
    const queue = await cli(['squeue', '-r', '-t', 'all', '-h']);
    assert.deepEqual(
      queue.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0])
        .filter((word) => word.startsWith(`${id}_`)),
      [`${id}_0`, `${id}_1`],
      queue.stdout,
    );
  });

  it('sbatch of a job no island can ever run prints why and exits non-zero, like sbatch', async () => {
    const path = scriptFile(`never-${process.pid}.sh`, ['#SBATCH --cpus-per-task=64', 'true']);
    const refused = await cli(['sbatch', path]);
    assert.equal(refused.code, 65, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /HTTP 422\): no island can run it: .*64 CPUs/);
    assert.match(refused.stderr, /^ {2}island local-a: .*CPUs/m);
  });

  it('sbatch submits a real script with command-line flags over #SBATCH lines; squeue, output --follow and sacct see it', async () => {
    const token = `cli-${Date.now()}`;
    const path = scriptFile('hello.sh', [
      '#SBATCH --job-name=fromscript',
      '#SBATCH --time=00:02:00',
      '#SBATCH --output=wrong-%j.out',
      `sleep 3; echo "hello ${token} from $SLURM_JOB_NAME greet=$GREETING"`,
    ]);
    const submitted = await cli(['sbatch', '-J', 'fromcli', '--output=cli-%j.out', '--export=GREETING', path], { GREETING: 'hi' });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = /^Submitted batch job (\d+)\n$/.exec(submitted.stdout)?.[1];
    assert.ok(id, submitted.stdout);

    const queue = await cli(['squeue']);
    assert.equal(queue.code, 0, queue.stderr);
    const [header, ...rows] = queue.stdout.trimEnd().split('\n');
    assert.match(header, /JOBID\s+PARTITION\s+ISLAND\s+NAME\s+USER\s+ST\s+TIME\s+NODES\s+NODELIST\(REASON\)/);
    const row = rows.find((r) => r.trim().startsWith(`${id} `));
    assert.ok(row, queue.stdout);
    assert.match(row, /fromcli/);
    assert.match(row, /alice/);

    const followed = await cli(['output', id, '--follow']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, `hello ${token} from fromcli greet=hi\n`);

    const once = await cli(['output', id]);
    assert.equal(once.stdout, followed.stdout);
    const lastLine = await cli(['output', id, '-n', '1']);
    assert.equal(lastLine.stdout, followed.stdout, 'the last line of a one-line file is the file');

    const history = await cli(['sacct', '-j', id, '--json']);
    assert.equal(history.code, 0, history.stderr);
    const [job] = JSON.parse(history.stdout).jobs;
    assert.equal(job.id, id);
    assert.equal(job.name, 'fromcli');
    assert.equal(job.state, 'COMPLETED');
    assert.equal(job.island, 'local-a');
    assert.equal(job.options.output, 'cli-%j.out');

    const table = await cli(['sacct', '-S', 'now-1hour']);
    assert.match(table.stdout, new RegExp(`^${id}\\s+fromcli\\s+\\S+\\s+local-a\\s+COMPLETED\\s+0:0\\s+1\\s`, 'm'));

    const active = await cli(['squeue', '--json']);
    assert.ok(!JSON.parse(active.stdout).jobs.some((j: { id: string }) => j.id === id), 'squeue lists only jobs that have not ended');
  });

  it("sbatch --wait --parsable reports progress and exits with the job's exit code (3: not the CLI's own auth code)", async () => {
    const path = scriptFile('fail.sh', ['#SBATCH --time=1', 'echo failing; exit 3']);
    const run = await cli(['sbatch', '--wait', '--parsable', path]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /^\d+\n$/);
    const id = run.stdout.trim();
    assert.match(run.stderr, new RegExp(`^job ${id}: ACCEPTED`, 'm'));
    assert.match(run.stderr, new RegExp(`^job ${id}: FAILED \\(NonZeroExitCode\\) on local-a .*, exit code 3$`, 'm'));
  });

  it('scancel cancels by id and by name; --json parses', async () => {
    const path = scriptFile('long.sh', ['#SBATCH --time=5', 'sleep 300']);
    const first = await cli(['sbatch', '--parsable', '-J', 'cancel-me', path]);
    const second = await cli(['sbatch', '--json', '-J', 'cancel-by-name', path]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const firstId = first.stdout.trim();
    const secondId = JSON.parse(second.stdout).id;
    assert.match(secondId, /^\d+$/);

    const byId = await cli(['scancel', firstId]);
    assert.equal(byId.code, 0, byId.stderr);
    const byName = await cli(['scancel', '-n', 'cancel-by-name', '--json']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.deepEqual(
      JSON.parse(byName.stdout).cancelled.map((c: { id: string }) => c.id),
      [secondId],
    );
    for (const id of [firstId, secondId]) {
      const job = await cp.waitForJob(alice.key, id, (j) => TERMINAL.has(j.state));
      assert.equal(job.state, 'CANCELLED');
    }
    const all = await cli(['squeue', '-t', 'CA', '--json']);
    const ids = JSON.parse(all.stdout).jobs.map((j: { id: string }) => j.id);
    assert.ok(ids.includes(firstId) && ids.includes(secondId), all.stdout);
  });

  it('errors: bad sbatch flags exit 64 locally, unknown jobs exit 66, not logged in exits 77, problems print readably', async () => {
    const path = scriptFile('ok.sh', ['echo ok']);
    const ambiguous = await cli(['sbatch', '--tim=5', path]);
    assert.equal(ambiguous.code, 64);
    assert.match(ambiguous.stderr, /sbatch: error: .*ambiguous; possibilities: --time --time-min/);
    const refused = await cli(['sbatch', '--uid=0', path]);
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /not allowed: the job runs as the authenticated caller/);
    const missing = await cli(['output', '999999']);
    assert.equal(missing.code, 66);
    assert.equal(missing.stderr, 'Not found (HTTP 404): job 999999 does not exist\n');
    const cancelEnded = await cli(['scancel', '999998']);
    assert.equal(cancelEnded.code, 66);
    const usage = await cli(['squeue', '--bogus']);
    assert.equal(usage.code, 64);
    const noKey = await cli(['squeue'], { HOME: join(home, 'nobody') });
    assert.equal(noKey.code, 77);
    assert.match(noKey.stderr, /not logged in/);
  });

  it('islands shows local-a in a table and as JSON', async () => {
    const json = await cli(['islands', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const island = JSON.parse(json.stdout).islands.find((i: { name: string }) => i.name === 'local-a');
    assert.ok(island && island.capacity.cpus > 0, json.stdout);
    const human = await cli(['islands']);
    assert.match(human.stdout, /^ISLAND\s+ADAPTER\s+AVAIL/);
    assert.match(human.stdout, /^local-a\s+rest\s+up\s/m);
  });

  it('metrics: present on the API and the worker, and they move with requests and jobs', async () => {
    const scrape = async (url: string) => {
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return response.text();
    };
    const api = () => scrape(`${cp.url}/metrics`);
    const worker = () => scrape(`http://127.0.0.1:${workerMetricsPort}/metrics`);

    const before = { api: await api(), worker: await worker() };
    const jobRoute = { method: 'GET', route: '/v1/jobs/:id', status: '200' };
    for (const name of [
      'archipelago_http_request_duration_seconds_bucket',
      'archipelago_jobs',
      'archipelago_queue_depth',
      'archipelago_usage_outbox_oldest_age_seconds',
      'archipelago_queue_oldest_age_seconds',
      'archipelago_island_capacity',
      'archipelago_island_reachable',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(samples(before.api, name).length > 0, `${name} is exported by the API`);
    }
    assert.ok(sum(before.api, 'archipelago_island_capacity', { island: 'local-a', resource: 'cpus' }) > 0);
    assert.equal(sum(before.api, 'archipelago_island_reachable', { island: 'local-a' }), 1);
    assert.ok(sum(before.api, 'archipelago_jobs', { state: 'COMPLETED', island: 'local-a' }) >= 1, 'earlier tests completed jobs');
    assert.ok(!/route="\/v1\/jobs\/\d/.test(before.api), 'routes are templates, never raw ids');
    assert.ok(sum(before.worker, 'archipelago_dispatch_latency_seconds_count', { island: 'local-a' }) >= 1);
    assert.ok(sum(before.worker, 'archipelago_slurm_call_duration_seconds_count', { island: 'local-a', operation: 'submit', outcome: 'ok' }) >= 1);

    const path = scriptFile('metrics.sh', ['#SBATCH --time=1', 'echo metrics']);
    const run = await cli(['sbatch', '--wait', '--parsable', path]);
    assert.equal(run.code, 0, run.stderr);
    await new Promise((r) => setTimeout(r, 5200)); // past the 5 s cache of the database-backed gauges

    const after = { api: await api(), worker: await worker() };
    assert.ok(
      sum(after.api, 'archipelago_http_requests_total', jobRoute) > sum(before.api, 'archipelago_http_requests_total', jobRoute),
      '--wait polled the job',
    );
    assert.equal(
      sum(after.api, 'archipelago_http_requests_total', { method: 'POST', route: '/v1/jobs', status: '202' }),
      sum(before.api, 'archipelago_http_requests_total', { method: 'POST', route: '/v1/jobs', status: '202' }) + 1,
    );
    assert.equal(sum(after.api, 'archipelago_jobs'), sum(before.api, 'archipelago_jobs') + 1, 'one more job in the database');
    const submits = { island: 'local-a', operation: 'submit', outcome: 'ok' };
    assert.equal(
      sum(after.worker, 'archipelago_slurm_call_duration_seconds_count', submits),
      sum(before.worker, 'archipelago_slurm_call_duration_seconds_count', submits) + 1,
    );
    assert.equal(
      sum(after.worker, 'archipelago_dispatch_latency_seconds_count', { island: 'local-a' }),
      sum(before.worker, 'archipelago_dispatch_latency_seconds_count', { island: 'local-a' }) + 1,
    );
    assert.equal(
      sum(after.worker, 'archipelago_dispatch_outcomes_total', { outcome: 'submitted' }),
      sum(before.worker, 'archipelago_dispatch_outcomes_total', { outcome: 'submitted' }) + 1,
    );
    assert.ok(
      sum(after.worker, 'archipelago_slurm_call_duration_seconds_count', { island: 'local-a', operation: 'list_jobs', outcome: 'ok' }) > 0,
      'the follower is timed too',
    );
  });

  it('Grafana: every panel query reads metrics, label values and labels that the API and the worker export', async () => {
    const texts = [await (await fetch(`${cp.url}/metrics`)).text(), await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text()];
    const scraped = texts.flatMap(parseExposition);
    const declared = new Set(texts.flatMap((text) => [...declaredNames(text)]));
    const dashboard = JSON.parse(readFileSync(join(REPO, 'docs/grafana/archipelago.json'), 'utf8'));
    const queries = dashboardQueries(dashboard);
    assert.equal(queries.length, 26, 'every target of every panel was found');
    const problems: string[] = [];
    for (const { panel, expr } of queries) {
      const read = selectors(expr);
      if (read.length === 0) problems.push(`${panel}: reads no metric we know: ${expr}`);
      for (const { name, equals } of read) {
        const series = scraped.filter((s) => s.name === name);
        if (!declared.has(name)) problems.push(`${panel}: ${name} is not exported`);
        else if (Object.keys(equals).length > 0 && !series.some((s) => Object.entries(equals).every(([label, value]) => s.labels[label] === value))) {
          problems.push(`${panel}: no ${name} series with ${JSON.stringify(equals)}`);
        }
      }
      // Checked on samples: a labelled counter nothing has counted yet (SLURM errors) has none to check.
      const withSamples = scraped.filter((s) => read.some((r) => r.name === s.name));
      const carried = new Set(withSamples.flatMap((s) => Object.keys(s.labels)));
      for (const label of groupingLabels(expr).filter((l) => l !== 'instance' && l !== 'job')) {
        if (withSamples.length > 0 && !carried.has(label)) problems.push(`${panel}: groups by ${label}, which no series it reads carries`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('logs: one JSON object per line with the request id (echoed or generated) and the job id; keys never appear', async () => {
    const submitted = await cp.request(
      'POST',
      '/v1/jobs',
      alice.key,
      { script: '#!/bin/bash\necho logged\n', options: { time: 1 } },
      { 'x-request-id': 'obs-submit-1' },
    );
    assert.equal(submitted.status, 202, submitted.text);
    assert.equal(submitted.headers.get('x-request-id'), 'obs-submit-1');
    const id = submitted.json.id;
    const read = await cp.request('GET', `/v1/jobs/${id}`, alice.key, undefined, { 'x-request-id': 'obs-read-1' });
    assert.equal(read.headers.get('x-request-id'), 'obs-read-1');
    const generated = await cp.request('GET', '/v1/jobs?limit=1', alice.key, undefined, { 'x-request-id': 'not allowed: spaces' });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await new Promise((r) => setTimeout(r, 300));

    const logs = cp.recentLogs();
    assert.ok(!logs.includes(alice.key) && !logs.includes(cp.adminKey), 'no API key in the logs');
    const entries = logs
      .split('\n')
      .map((line) => line.replace(/^\[(api|worker)\] /, ''))
      .flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return []; // a line split across two output chunks
        }
      });
    const access = (requestId: string) => entries.find((e) => e.context === 'http' && e.requestId === requestId);
    const submitLine = access('obs-submit-1');
    assert.ok(submitLine, logs.slice(-2000));
    assert.deepEqual([submitLine.level, submitLine.route, submitLine.status, submitLine.jobId], ['info', '/v1/jobs', 202, id]);
    assert.match(submitLine.time, /^\d{4}-\d{2}-\d{2}T/);
    const readLine = access('obs-read-1');
    assert.deepEqual([readLine.route, readLine.status, readLine.jobId], ['/v1/jobs/:id', 200, id]);

    // One structured line per state change of the job, from whichever process made it.
    await cp.waitForJob(alice.key, id, (j) => TERMINAL.has(j.state));
    await new Promise((r) => setTimeout(r, 300));
    const lines = [...cp.logLines('api'), ...cp.logLines('worker')];
    const notJson = lines.filter((line) => {
      try {
        const entry = JSON.parse(line);
        return typeof entry.level !== 'string' || typeof entry.time !== 'string' || typeof entry.msg !== 'string';
      } catch {
        return true;
      }
    });
    assert.deepEqual(notJson, [], 'every line either process wrote is one JSON log entry');
    const changes = lines
      .map((line) => JSON.parse(line))
      .filter((e) => e.context === 'job-state' && e.jobId === id)
      .map((e) => `${e.from}->${e.to}`);
    const events = (await cp.request('GET', `/v1/jobs/${id}/events`, alice.key)).json.items.map((e: { from: string; to: string }) => `${e.from}->${e.to}`);
    assert.ok(events.length >= 2, JSON.stringify(events));
    assert.deepEqual(changes.sort(), ['null->ACCEPTED', 'ACCEPTED->DISPATCHING', ...events].sort());
  });

  it("node join wraps the agent's join against the configured server; nodes lists the node for its provider", async () => {
    const acme = await cp.provider('obs-acme');
    const token = await cp.request('POST', '/v1/join-tokens', acme.key, {});
    assert.equal(token.status, 201, token.text);
    const keyFile = join(home, 'node.key');
    const stateFile = join(home, 'node.state.json');
    const keygen = spawnSync(process.execPath, [join(REPO, 'dist/src/apps/agent/main.js'), 'keygen', '--key-file', keyFile]);
    assert.equal(keygen.status, 0, keygen.stderr.toString());

    const joined = await cli(['node', 'join', '--token', token.json.token, '--key-file', keyFile, '--state-file', stateFile, '--probe-host', '127.0.0.1']);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
    const { nodeId, name } = JSON.parse(joined.stdout.trim().split('\n').pop()!);
    assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).server, `${cp.url}/`, 'the agent was pointed at the configured server');

    const listed = await cli(['nodes', '--json'], { ARCHIPELAGO_API_KEY: acme.key });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout).nodes.map((n: { id: string }) => n.id),
      [nodeId],
    );
    const table = await cli(['nodes'], { ARCHIPELAGO_API_KEY: acme.key });
    assert.match(table.stdout, new RegExp(`^${name}\\s+PENDING\\s`, 'm'));
    const reused = await cli([
      'node',
      'join',
      '--token',
      token.json.token,
      '--key-file',
      keyFile,
      '--state-file',
      join(home, 'other.state.json'),
      '--probe-host',
      '127.0.0.1',
    ]);
    assert.equal(reused.code, 2, "a used-up token is refused (the agent's exit code)");

    const asAcme = { ARCHIPELAGO_API_KEY: acme.key };
    const noReason = await cli(['node', 'drain', name], asAcme);
    assert.equal(noReason.code, 64, noReason.stderr);
    assert.match(noReason.stderr, /--reason is required/);
    const drained = await cli(['node', 'drain', name, '--reason', 'disk swap'], asAcme);
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(drained.stdout, `node ${name} (${nodeId}): DRAINING\n`);
    const shown = await cp.request('GET', `/v1/nodes/${nodeId}`, acme.key);
    assert.equal(shown.json.drainedReason, 'disk swap', shown.text);
    const resumed = await cli(['node', 'resume', nodeId, '--json'], asAcme);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.notEqual(JSON.parse(resumed.stdout).nodes[0].state, 'DRAINING');
    const notMine = await cli(['node', 'drain', name, '--reason', 'x']);
    assert.equal(notMine.code, 77, `a researcher may not manage nodes: ${notMine.stderr}`);
    const unknown = await cli(['node', 'remove', 'no-such-node'], asAcme);
    assert.equal(unknown.code, 66, unknown.stderr);
    const removed = await cli(['node', 'remove', name], asAcme);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /: DEREGISTERED\n$/);
  });

  it('hold, release and scontrol (show job, hold, release) work on a pending job; release takes a bodyless JSON POST', async () => {
    // Begins in an hour: once released it stays PENDING in SLURM, so it can be held again.
    const path = scriptFile('held.sh', ['#SBATCH --time=1', '#SBATCH --begin=now+1hour', 'true']);
    const submitted = await cli(['sbatch', '--hold', '--parsable', '-J', 'held-cli', path]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const isHeld = async (held: boolean) => (await cp.waitForJob(alice.key, id, (j) => j.hold === held)).hold;

    const shown = await cli(['scontrol', 'show', 'job', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^JobId=${id} JobName=held-cli\n`));
    assert.match(shown.stdout, /^ {3}UserId=alice$/m);
    assert.match(shown.stdout, /^ {3}JobState=(ACCEPTED|DISPATCHING|PENDING) Reason=\S+ ST=\w+$/m);
    assert.match(shown.stdout, /^ {3}TimeLimit=1:00$/m);

    const released = await cli(['release', id]);
    assert.equal(released.code, 0, released.stderr);
    assert.equal(await isHeld(false), false);
    const held = await cli(['scontrol', 'hold', id, '--json']);
    assert.equal(held.code, 0, held.stderr);
    assert.equal(JSON.parse(held.stdout).held[0].id, id);
    assert.equal(await isHeld(true), true);

    const bare = await fetch(`${cp.url}/v1/jobs/${id}/release`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json' },
    });
    assert.equal(bare.status, 200, await bare.clone().text());
    assert.equal(((await bare.json()) as { hold: boolean }).hold, false);
    const againHeld = await cli(['hold', id]);
    assert.equal(againHeld.code, 0, againHeld.stderr);

    const missing = await cli(['release', '999997']);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /^release: error: job 999997: Not found \(HTTP 404\)/);
    const badVerb = await cli(['scontrol', 'update', 'jobid=1']);
    assert.equal(badVerb.code, 64);
    assert.equal((await cli(['scancel', id])).code, 0);
    const ended = await cp.waitForJob(alice.key, id, (j) => TERMINAL.has(j.state));
    const tooLate = await cli(['hold', id]);
    assert.equal(tooLate.code, 65, `holding a ${ended.state} job is refused (409): ${tooLate.stderr}`);
  });

  it("sinfo lists islands, and with -N every island's SLURM nodes", async () => {
    const islands = await cli(['sinfo']);
    assert.equal(islands.code, 0, islands.stderr);
    assert.match(islands.stdout, /^ISLAND\s+ADAPTER\s+AVAIL/);
    assert.match(islands.stdout, /^local-a\s+rest\s+up\s/m);
    const detail = await cp.request('GET', '/v1/islands/local-a', alice.key);
    const names: string[] = detail.json.nodes.map((n: { name: string }) => n.name);
    assert.ok(names.length > 0, detail.text);
    const nodesView = await cli(['sinfo', '-N']);
    assert.equal(nodesView.code, 0, nodesView.stderr);
    assert.match(nodesView.stdout, /^NODELIST\s+ISLAND\s+STATE\s+CPUS\(A\/I\/T\)\s+MEMORY\(F\/T\)\s+GPUS\(F\/T\)\s+FEATURES$/m);
    for (const name of names) assert.match(nodesView.stdout, new RegExp(`^${name}\\s+local-a\\s+\\S+\\s+\\d+/\\d+/\\d+\\s`, 'm'));
    const json = await cli(['sinfo', '-N', '--island', 'local-a', '--json']);
    assert.deepEqual(
      JSON.parse(json.stdout)
        .nodes.map((n: { name: string }) => n.name)
        .sort(),
      [...names].sort(),
    );
    const unknown = await cli(['sinfo', '--island', 'nowhere']);
    assert.equal(unknown.code, 66, unknown.stderr);
  });

  it('sbatch retries a submission whose answer was lost with the same Idempotency-Key: one job, not two', async () => {
    let lost = 0;
    const keys: string[] = [];
    // Forwards everything to the control plane, but swallows the answer to the first submission.
    const proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${cp.url}${request.url}`, {
        method: request.method,
        headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (request.method === 'POST' && request.url === '/v1/jobs') {
        keys.push(String(request.headers['idempotency-key']));
        if (lost++ === 0) {
          response.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
          return;
        }
      }
      response.writeHead(upstream.status, Object.fromEntries(upstream.headers)).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    try {
      const path = scriptFile('once.sh', ['#SBATCH --time=1', 'echo once']);
      const run = await cli(['sbatch', '--url', `http://127.0.0.1:${port}`, '-J', 'exactly-once', path]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /HTTP 502.*retrying \(1\/3\)/);
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1], 'the retry carries the same key');
      assert.match(keys[0], /^cli-[0-9a-f-]{36}$/);
      const id = /^Submitted batch job (\d+)$/.exec(run.stdout.trim())?.[1];
      const all = await cli(['squeue', '-t', 'all', '-n', 'exactly-once', '--json']);
      assert.deepEqual(
        JSON.parse(all.stdout).jobs.map((j: { id: string }) => j.id),
        [id],
        'exactly one job',
      );
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('login with a wallet mnemonic: a session (never the mnemonic) is stored, used, and refreshed when it runs out', async () => {
    const wallet = await Secp256k1HdWallet.generate(12, { prefix: 've' });
    const [{ address }] = await wallet.getAccounts();
    assert.equal((await cp.request('PUT', `/v1/wallet-accounts/${address}`, cp.adminKey, { slurmUser: 'alice' })).status, 200);
    const walletHome = mkdtempSync(join(tmpdir(), 'obs-cli-wallet-'));
    const mnemonicFile = join(walletHome, 'mnemonic');
    writeFileSync(mnemonicFile, `${wallet.mnemonic}\n`, { mode: 0o600 });
    const asWallet = (args: string[], input?: string) => cli(args, { HOME: walletHome }, input);
    const wrong = await asWallet(['login', '--mnemonic-file', '-'], 'not a mnemonic at all\n');
    assert.equal(wrong.code, 64, wrong.stderr);
    const good = await asWallet(['login', '--mnemonic-file', mnemonicFile]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stderr, new RegExp(address));
    const path = join(walletHome, '.config/archipelago/config.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const stored = readFileSync(path, 'utf8');
    assert.ok(!stored.includes(wallet.mnemonic.split(' ')[0] + ' ' + wallet.mnemonic.split(' ')[1]), 'the mnemonic is never stored');
    const first = JSON.parse(stored).credentials;
    assert.equal(first.kind, 'wallet');
    assert.equal(first.address, address);

    const queue = await asWallet(['squeue', '--json']);
    assert.equal(queue.code, 0, queue.stderr);
    // The session ran out: the next command refreshes it (single-use refresh token) and saves the new pair.
    writeFileSync(path, JSON.stringify({ ...JSON.parse(stored), credentials: { ...first, expiresAt: new Date(Date.now() - 1000).toISOString() } }), {
      mode: 0o600,
    });
    const again = await asWallet(['squeue', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const refreshed = JSON.parse(readFileSync(path, 'utf8')).credentials;
    assert.notEqual(refreshed.sessionToken, first.sessionToken);
    assert.notEqual(refreshed.refreshToken, first.refreshToken);
    assert.ok(Date.parse(refreshed.expiresAt) > Date.now());
    // A login whose refresh token also expired must log in again, with the auth exit code.
    writeFileSync(
      path,
      JSON.stringify({ url: cp.url, credentials: { ...refreshed, expiresAt: new Date(0).toISOString(), refreshExpiresAt: new Date(0).toISOString() } }),
      { mode: 0o600 },
    );
    const expired = await asWallet(['squeue']);
    assert.equal(expired.code, 77, expired.stderr);
    assert.match(expired.stderr, /log(in|ged)|login/i);
  });
});
