import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { splitSbatchCommon } from '../../src/apps/cli/main';
import { exportedEnvironment, parseSbatchArgs } from '../../src/apps/cli/sbatch-args';
import { compactState, formatDuration, formatProblem, parseStateList, table } from '../../src/apps/cli/format';
import { filterFromFlags, JobView, listQuery, matches, parseSlurmTime } from '../../src/apps/cli/job-filters';
import { arrayTaskLines, nodeListOrReason, progressLine, sacctTable, squeueTable, waitExitCode } from '../../src/apps/cli/job-tables';
import { resolveSettings } from '../../src/apps/cli/config';
import { scontrolJobText } from '../../src/apps/cli/job-detail';
import { islandNodesTable } from '../../src/apps/cli/cluster-tables';
import { exitCodeForStatus, ExitCode } from '../../src/apps/cli/exit-codes';
import { parseSubmission, SbatchParseError } from '../../src/core/sbatch/parse-sbatch';

const job = (over: Partial<JobView> = {}): JobView => ({
  id: '42',
  name: 'train',
  user: 'alice',
  state: 'RUNNING',
  stateReason: null,
  island: 'local-a',
  partition: 'debug',
  slurmJobId: 7,
  exitCode: null,
  exitSignal: null,
  batchHost: 'n1',
  options: { nodes: { min: 2 } },
  submittedAt: '2026-01-01T10:00:00.000Z',
  startedAt: '2026-01-01T10:00:05.000Z',
  endedAt: null,
  ...over,
});

describe('sbatch command line', () => {
  it('reads options like sbatch: clusters, abbreviations, = and separate values, stop at the script', () => {
    const got = parseSbatchArgs(['-N2', '--ntasks', '4', '--parti=debug', '-J', 'x', 'run.sh']);
    assert.deepEqual(got, {
      options: { nodes: '2', ntasks: '4', partition: 'debug', 'job-name': 'x' },
      scriptPath: 'run.sh',
      wait: false,
      parsable: false,
      help: false,
    });
  });

  it('keeps the last of a repeated option, accumulates --mail-type, and maps flags to true', () => {
    const got = parseSbatchArgs(['-t', '5', '--mail-type=BEGIN', '--hold', '--time=10', '--mail-type', 'END', 'a.sh']);
    assert.deepEqual(got.options, { hold: true, time: '10', 'mail-type': 'BEGIN,END' });
    assert.deepEqual(Object.keys(got.options), ['hold', 'time', 'mail-type'], 'order of last occurrence');
  });

  it('honours --wait/-W and --parsable locally instead of sending them', () => {
    const got = parseSbatchArgs(['-W', '--parsable', 'a.sh']);
    assert.deepEqual(got, { options: {}, scriptPath: 'a.sh', wait: true, parsable: true, help: false });
    assert.equal(parseSbatchArgs(['-h']).help, true);
  });

  it('reads the script from stdin when none is named', () => {
    assert.equal(parseSbatchArgs(['-n', '1']).scriptPath, undefined);
  });

  it('refuses what sbatch or Archipelago refuses, naming the option', () => {
    assert.throws(() => parseSbatchArgs(['--tim=5', 'a.sh']), /ambiguous; possibilities: --time --time-min/);
    assert.throws(() => parseSbatchArgs(['--uid=0', 'a.sh']), /--uid: not allowed/);
    assert.throws(() => parseSbatchArgs(['--nodelist=n1', 'a.sh']), /not supported by Archipelago/);
    assert.throws(() => parseSbatchArgs(['-J']), /requires a value/);
    assert.throws(() => parseSbatchArgs(['a.sh', 'arg1']), SbatchParseError);
  });

  it('takes --wrap as sbatch does: as an option, never with a script', () => {
    assert.deepEqual(parseSbatchArgs(['--wrap', 'echo hi; hostname', '-J', 'w']).options, { wrap: 'echo hi; hostname', 'job-name': 'w' });
    assert.equal(parseSbatchArgs(['--wrap=hostname']).scriptPath, undefined);
    assert.throws(() => parseSbatchArgs(['--wrap=hostname', 'a.sh']), /script arguments not permitted with --wrap/);
  });

  it('beats #SBATCH lines once the server applies the options after the directives', () => {
    const script = '#!/bin/bash\n#SBATCH -J fromscript\n#SBATCH --time=5\n#SBATCH --mem=1G\necho\n';
    const { options } = parseSbatchArgs(['-J', 'fromcli', '--time=1:00:00', 'x.sh']);
    const { spec } = parseSubmission(script, options);
    assert.equal(spec.jobName, 'fromcli');
    assert.equal(spec.timeLimitMinutes, 60);
    assert.equal(spec.memPerNodeMb, 1024);
  });

  it('sends only the variables --export names without a value, never the whole environment', () => {
    const env = { HOME: '/h', ARCHIPELAGO_API_KEY: 'secret', A: '1', B: '2' };
    assert.deepEqual(exportedEnvironment({ A: null, B: 'set', C: null }, env), { A: '1' });
    assert.deepEqual(exportedEnvironment(undefined, env), {});
  });

  it('takes --json and --url out of the sbatch words, up to --', () => {
    assert.deepEqual(splitSbatchCommon(['--json', '-J', 'x', '--url', 'http://h', 'a.sh']), { rest: ['-J', 'x', 'a.sh'], json: true, url: 'http://h' });
    assert.deepEqual(splitSbatchCommon(['--', '--json']), { rest: ['--', '--json'], json: false, url: undefined });
    assert.throws(() => splitSbatchCommon(['--url']), /requires a value/);
  });
});

describe('formatting', () => {
  it('aligns tables and cuts long cells', () => {
    const out = table(
      [
        { a: '1', b: 'abcdefghij' },
        { a: '123', b: 'x' },
      ],
      [
        { header: 'ID', value: (r) => r.a, align: 'right' },
        { header: 'NAME', value: (r) => r.b, max: 4 },
      ],
    );
    assert.equal(out, ' ID NAME\n  1 abcd\n123 x');
  });

  it('prints durations as SLURM does', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(65), '1:05');
    assert.equal(formatDuration(3600 + 62), '1:01:02');
    assert.equal(formatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), '2-03:04:05');
  });

  it('maps states to squeue codes and parses -t lists', () => {
    assert.equal(compactState('PENDING'), 'PD');
    assert.equal(compactState('ACCEPTED'), 'AC');
    assert.deepEqual(parseStateList('pd,R,completed'), ['PENDING', 'RUNNING', 'COMPLETED']);
    assert.equal(parseStateList('all'), undefined);
    assert.throws(() => parseStateList('BOGUS'), /invalid job state "BOGUS"/);
  });

  it('prints problem+json readably, with per-field errors the detail does not already say', () => {
    assert.equal(
      formatProblem(
        {
          status: 400,
          title: 'Invalid request',
          detail: 'options.time: bad',
          errors: [
            { field: 'options.time', reason: 'bad' },
            { field: 'x', reason: 'also' },
          ],
        },
        400,
      ),
      'Invalid request (HTTP 400): options.time: bad\n  x: also',
    );
    assert.equal(formatProblem({}, 502), 'Request failed (HTTP 502)');
  });

  it('prints why each island refused a job that can never run (422), then exits as rejected', () => {
    const problem = {
      status: 422,
      title: 'Unprocessable request',
      detail: 'no island can run it: every island: no node has 64 CPUs (largest: 4)',
      placement: {
        candidates: [
          { island: 'local-a', rejected: 'no node has 64 CPUs (largest: 4)' },
          { island: 'local-b', rejected: 'not in region mars' },
        ],
      },
    };
    assert.equal(
      formatProblem(problem, 422),
      'Unprocessable request (HTTP 422): no island can run it: every island: no node has 64 CPUs (largest: 4)\n' +
        '  island local-a: no node has 64 CPUs (largest: 4)\n  island local-b: not in region mars',
    );
    assert.equal(exitCodeForStatus(422), ExitCode.REJECTED);
  });

  it('shows the node list for running jobs and the reason for waiting ones', () => {
    assert.equal(nodeListOrReason(job()), 'n1');
    assert.equal(nodeListOrReason(job({ state: 'PENDING', stateReason: 'Resources', batchHost: null })), '(Resources)');
    assert.equal(nodeListOrReason(job({ state: 'ACCEPTED', batchHost: null })), '(Dispatching)');
  });

  it("prints squeue's default columns", () => {
    const out = squeueTable([job()], new Date('2026-01-01T10:01:10.000Z'));
    assert.equal(out, 'JOBID PARTITION ISLAND   NAME  USER ST TIME NODES NODELIST(REASON)\n   42     debug local-a train alice  R 1:05     2 n1');
    assert.equal(squeueTable([job()], new Date('2026-01-01T10:01:10.000Z'), false).split('\n').length, 1);
  });

  it('prints sacct history with usage: requested CPUs, elapsed and CPU time', () => {
    const done = job({ state: 'COMPLETED', exitCode: 0, exitSignal: 0, endedAt: '2026-01-01T10:02:05.000Z', options: { ntasks: 2, cpusPerTask: 3 } });
    const [header, row] = sacctTable([done], new Date('2026-01-02T00:00:00Z')).split('\n');
    assert.match(header, /^JobID\s+JobName\s+Partition\s+Island\s+State\s+ExitCode\s+ReqCPUS\s+Elapsed\s+CPUTime\s+Submit\s+Start\s+End\s+TotalCPU$/);
    assert.match(row, /^42\s+train\s+debug\s+local-a\s+COMPLETED\s+0:0\s+6\s+2:00\s+12:00\s+2026-01-01T10:00:00\s+2026-01-01T10:00:05\s+2026-01-01T10:02:05$/);
    // Multi-node jobs without -n count as SLURM counts them (native -N2 --ntasks-per-node=2 -c2: NumCPUs=8).
    const multi = job({
      state: 'COMPLETED',
      exitCode: 0,
      exitSignal: 0,
      endedAt: '2026-01-01T10:02:05.000Z',
      options: { nodes: { min: 2 }, ntasksPerNode: 2, cpusPerTask: 2 },
    });
    assert.match(sacctTable([multi], new Date('2026-01-02T00:00:00Z'), false), /COMPLETED\s+0:0\s+8\s+2:00\s+16:00\s/);
  });

  it('lists an array task by task, as sacct does, each with its own times, island and the per-task CPUs', () => {
    const array = job({ state: 'COMPLETED', exitCode: 0, exitSignal: 0, endedAt: '2026-01-01T10:05:00.000Z', options: { cpusPerTask: 2 }, array: { size: 2 } });
    const task = (taskId: number, seconds: number) => ({
      id: `42_${taskId}`,
      arrayTaskId: taskId,
      island: taskId === 0 ? 'local-a' : 'east-1',
      partition: 'debug',
      slurmJobId: 100 + taskId,
      cpuSeconds: taskId === 0 ? 59.6 : null,
      state: 'COMPLETED',
      stateReason: null,
      exitCode: 0,
      exitSignal: 0,
      batchHost: 'n1',
      startedAt: '2026-01-01T10:00:00.000Z',
      endedAt: new Date(Date.parse('2026-01-01T10:00:00.000Z') + seconds * 1000).toISOString(),
    });
    const lines = sacctTable(arrayTaskLines(array, [task(0, 60), task(1, 90)]), new Date('2026-01-02T00:00:00Z'), false).split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^42_0\s+train\s.*COMPLETED\s+0:0\s+2\s+1:00\s+2:00\s/);
    assert.match(lines[1], /^42_1\s+train\s.*COMPLETED\s+0:0\s+2\s+1:30\s+3:00\s/);
    // TotalCPU is what accounting measured for the task, blank until it has.
    assert.match(lines[0], /2026-01-01T10:01:00\s+1:00$/);
    assert.match(lines[1], /2026-01-01T10:01:30$/);
    // A split array's tasks name the island each ran on.
    assert.match(lines[0], /^42_0\s+train\s+debug\s+local-a\s/);
    assert.match(lines[1], /^42_1\s+train\s+debug\s+east-1\s/);
    assert.deepEqual(arrayTaskLines(array, []), [array], 'no task reported yet: the array itself');
  });

  it('describes --wait progress and exits as sbatch --wait does', () => {
    assert.equal(progressLine(job({ state: 'PENDING', stateReason: 'Priority', batchHost: null })), 'job 42: PENDING (Priority) on local-a');
    assert.equal(progressLine(job({ state: 'COMPLETED', exitCode: 0 })), 'job 42: COMPLETED on local-a (n1), exit code 0');
    assert.equal(waitExitCode(job({ state: 'COMPLETED', exitCode: 0 })), 0);
    assert.equal(waitExitCode(job({ state: 'FAILED', exitCode: 7 })), 7);
    assert.equal(waitExitCode(job({ state: 'CANCELLED', exitCode: null })), 1);
    assert.equal(waitExitCode(job({ state: 'TIMEOUT', exitCode: 0 })), 1);
  });
});

describe('job selection', () => {
  it('defaults squeue to jobs that have not ended and sends what the server can filter', () => {
    const filter = filterFromFlags({ name: 'train', island: 'local-a' }, ['PENDING', 'RUNNING']);
    assert.equal(listQuery(filter, 500), 'state=PENDING%2CRUNNING&island=local-a&name=train&limit=500');
    assert.equal(listQuery(filterFromFlags({ states: 'all' }, ['PENDING']), 10, 'abc'), 'limit=10&cursor=abc');
  });

  it('narrows by user, partition, ids and submission window on the client', () => {
    assert.ok(matches(job(), filterFromFlags({ user: 'alice,bob', partition: 'debug' }, undefined)));
    assert.ok(!matches(job(), filterFromFlags({ user: 'bob' }, undefined)));
    assert.ok(!matches(job(), filterFromFlags({ jobs: '41,43' }, undefined)));
    assert.ok(!matches(job(), { submittedFrom: new Date('2026-01-01T11:00:00Z') }));
    assert.throws(() => filterFromFlags({ jobs: '12x' }, undefined), /invalid job id "12x"/);
  });

  it('reads sacct times: now-N with units, dates and date-times', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.equal(parseSlurmTime('now-2hours', now).toISOString(), '2026-03-10T10:00:00.000Z');
    assert.equal(parseSlurmTime('now-30', now).toISOString(), '2026-03-10T11:59:30.000Z');
    assert.equal(parseSlurmTime('now-1d', now).toISOString(), '2026-03-09T12:00:00.000Z');
    assert.equal(parseSlurmTime('2026-03-01', now).getTime(), new Date(2026, 2, 1).getTime());
    assert.equal(parseSlurmTime('2026-03-01T08:30', now).getTime(), new Date(2026, 2, 1, 8, 30).getTime());
    assert.throws(() => parseSlurmTime('2026-02-30', now), /invalid time/);
    assert.throws(() => parseSlurmTime('now-3parsecs', now), /invalid time unit/);
  });
});

describe('CLI configuration', () => {
  const file = { url: 'http://file:8080/', credentials: { kind: 'api-key' as const, apiKey: 'ak_from_file_0123456789' } };

  it('takes the file, then the environment, then --url', async () => {
    const fromFile = resolveSettings(file, {}, '/c.json');
    assert.equal(fromFile.url, 'http://file:8080');
    assert.equal(await fromFile.credentials!.authorization(), 'Bearer ak_from_file_0123456789');
    const fromEnv = resolveSettings(file, { ARCHIPELAGO_URL: 'https://env', ARCHIPELAGO_API_KEY: 'ak_env_key_0123456789' }, '/c.json');
    assert.equal(fromEnv.url, 'https://env');
    assert.equal(await fromEnv.credentials!.authorization(), 'Bearer ak_env_key_0123456789');
    assert.equal(resolveSettings(file, { ARCHIPELAGO_URL: 'https://env' }, '/c.json', 'http://flag').url, 'http://flag');
    assert.equal(resolveSettings({}, {}, '/c.json').credentials, null);
  });

  it('describes credentials without revealing them and refuses unknown kinds and non-http URLs', () => {
    const settings = resolveSettings(file, {}, '/c.json');
    assert.ok(!settings.credentials!.description.includes('0123456789'));
    assert.throws(() => resolveSettings({ credentials: { kind: 'nope' } as never }, {}, '/c.json'), /unknown kind/);
    assert.throws(() => resolveSettings({}, { ARCHIPELAGO_URL: 'ftp://x' }, '/c.json'), /http or https/);
  });

  it('maps HTTP statuses to documented exit codes', () => {
    assert.equal(exitCodeForStatus(401), ExitCode.AUTH);
    assert.equal(exitCodeForStatus(403), ExitCode.AUTH);
    assert.equal(exitCodeForStatus(404), ExitCode.NOT_FOUND);
    assert.equal(exitCodeForStatus(409), ExitCode.REJECTED);
    assert.equal(exitCodeForStatus(503), ExitCode.UNAVAILABLE);
  });

  it('uses sysexits codes for its own failures, apart from the small codes jobs exit with', () => {
    assert.deepEqual([ExitCode.USAGE, ExitCode.REJECTED, ExitCode.NOT_FOUND, ExitCode.INTERNAL, ExitCode.UNAVAILABLE, ExitCode.AUTH], [64, 65, 66, 70, 75, 77]);
    assert.equal(waitExitCode(job({ state: 'FAILED', exitCode: 3 })), 3, 'a job exiting 3 is not "not logged in"');
    assert.notEqual(waitExitCode(job({ state: 'FAILED', exitCode: 3 })), ExitCode.AUTH);
  });
});

describe('scontrol show job and sinfo -N', () => {
  it('prints a job as scontrol does: Key=Value lines, (null) for what is unknown', () => {
    const text = scontrolJobText(
      job({
        state: 'PENDING',
        stateReason: 'JobHeldUser',
        batchHost: null,
        startedAt: null,
        options: { nodes: { min: 2, max: 4 }, ntasks: 8, timeLimitMinutes: 90 },
      }),
    );
    assert.equal(
      text,
      [
        'JobId=42 JobName=train',
        '   UserId=alice',
        '   JobState=PENDING Reason=JobHeldUser ST=PD',
        '   Island=local-a Partition=debug SlurmJobId=7',
        '   NumNodes=2-4 NumTasks=8 CPUs/Task=1',
        '   TimeLimit=1:30:00',
        '   SubmitTime=2026-01-01T10:00:00 StartTime=Unknown EndTime=Unknown',
        '   BatchHost=(null) ExitCode=0:0',
      ].join('\n'),
    );
    assert.match(scontrolJobText(job({ state: 'FAILED', exitCode: 2, exitSignal: 0, island: null })), /Island=\(null\)[\s\S]*ExitCode=2:0$/);
  });

  it('lists nodes with allocated/idle/total CPUs and free/total memory', () => {
    const text = islandNodesTable([
      { island: 'local-a', node: { name: 'n1', state: 'mixed', cpus: 4, cpusFree: 1, memoryMb: 8192, memoryFreeMb: 2048, gpus: [], features: ['ib', 'avx2'] } },
      {
        island: 'gpu',
        node: {
          name: 'g1',
          state: 'idle',
          cpus: 8,
          cpusFree: 8,
          memoryMb: 16384,
          memoryFreeMb: 16384,
          gpus: [{ model: 'a100', total: 2, free: 2 }],
          features: [],
        },
      },
    ]);
    assert.deepEqual(text.split('\n'), [
      'NODELIST ISLAND  STATE CPUS(A/I/T) MEMORY(F/T) GPUS(F/T) FEATURES',
      'n1       local-a mixed       3/1/4   2.0G/8.0G -         ib,avx2',
      'g1       gpu     idle        0/8/8     16G/16G a100:2/2  (null)',
    ]);
  });
});
