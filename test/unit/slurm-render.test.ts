import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { JobSpec } from '../../src/core/sbatch/job-spec';
import { renderDependency } from '../../src/core/sbatch/render-dependency';
import { renderSbatchArgv } from '../../src/core/sbatch/render-sbatch-argv';
import { renderEnvAssignments, shellJoin, shellQuote } from '../../src/core/sbatch/render-shell';
import { toJobProperties, toJobSubmission } from '../../src/adapters/slurm/rest/job-properties';
import { toJobDescriptionSubmission } from '../../src/adapters/slurm/rest/job-description';
import { mintSlurmJwt, SlurmTokenCache } from '../../src/adapters/slurm/rest/jwt';
import { decodeExitCode, toSlurmJobRecord, type V0038JobRecord } from '../../src/adapters/slurm/slurm-job-record';
import { normalizeErrors, errorFromItems } from '../../src/adapters/slurm/slurm-errors';
import { SlurmInexpressibleError, SlurmRejectedError, SlurmUnavailableError, type SlurmSubmitRequest } from '../../src/core/slurm/slurm-client.port';
import { assertActingUser } from '../../src/core/slurm/posix-user';
import { parseParsable, parseScontrolPing, renderSubmitCommand, slurmErrorText } from '../../src/adapters/slurm/ssh/ssh-commands';
import { normalizeHostKeyPin, sshFingerprintSha256 } from '../../src/adapters/slurm/ssh/ssh-pool';
import { fingerprintJobs, parseNodesJson } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { toSlurmNodeRecord, type V0038NodeRecord } from '../../src/adapters/slurm/slurm-node-record';

const FULL_SPEC: JobSpec = {
  jobName: 'train',
  partition: 'debug',
  account: 'proj',
  qos: 'normal',
  reservation: 'r1',
  comment: 'from-spec',
  nodes: { min: 1, max: 2 },
  ntasks: 4,
  ntasksPerNode: 2,
  cpusPerTask: 2,
  memPerNodeMb: 1024,
  timeLimitMinutes: 90,
  timeMinMinutes: 30,
  gres: 'gpu:1',
  gpus: '2',
  gpusPerNode: '1',
  gpusPerTask: '1',
  constraint: 'avx2',
  exclusive: 'exclusive',
  licenses: 'matlab:1',
  array: { expression: '0-15:4%2', taskIds: [0, 4, 8, 12], maxRunning: 2 },
  dependency: {
    combine: 'all',
    clauses: [
      { kind: 'afterok', targets: [{ jobId: '12' }, { jobId: '13_2' }] },
      { kind: 'singleton', targets: [] },
    ],
  },
  hold: true,
  begin: 'now+1hour',
  nice: 10,
  requeue: false,
  signal: 'B:USR1@60',
  mailType: ['END', 'FAIL'],
  mailUser: 'alice@example.org',
  output: 'out-%j.txt',
  error: 'err-%j.txt',
  input: '/dev/null',
  openMode: 'append',
  chdir: '/ignored/by/adapters',
  export: { mode: 'NONE', variables: { FOO: 'bar' } },
};

const request = (spec: JobSpec, overrides: Partial<SlurmSubmitRequest> = {}): SlurmSubmitRequest => ({
  script: '#!/bin/bash\necho hi\n',
  spec,
  workingDirectory: '/home/alice/work',
  environment: { PATH: '/usr/bin:/bin', FOO: 'bar' },
  comment: 'arch:job-123',
  ...overrides,
});

describe('renderDependency', () => {
  test('all / any / delay / singleton', () => {
    assert.equal(renderDependency(FULL_SPEC.dependency!), 'afterok:12:13_2,singleton');
    assert.equal(
      renderDependency({
        combine: 'any',
        clauses: [
          { kind: 'afterok', targets: [{ jobId: '1' }] },
          { kind: 'afternotok', targets: [{ jobId: '2' }] },
        ],
      }),
      'afterok:1?afternotok:2',
    );
    assert.equal(renderDependency({ combine: 'all', clauses: [{ kind: 'after', targets: [{ jobId: '7', delayMinutes: 5 }] }] }), 'after:7+5');
  });
  test('refuses untranslated ids and malformed clauses', () => {
    assert.throws(() => renderDependency({ combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: 'job-abc' }] }] }), /not a SLURM job id/);
    assert.throws(() => renderDependency({ combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '1;rm -rf /' }] }] }), /not a SLURM job id/);
    assert.throws(() => renderDependency({ combine: 'all', clauses: [{ kind: 'afterok', targets: [] }] }), /at least one/);
    assert.throws(
      () => renderDependency({ combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '1', delayMinutes: 3 }] }] }),
      /only valid with "after"/,
    );
    assert.throws(() => renderDependency({ combine: 'all', clauses: [] }), /no clauses/);
  });
});

describe('REST job description (v0.0.40-v0.0.42)', () => {
  const NOW = 1_800_000_000;
  const set = (number: number) => ({ set: true, infinite: false, number });

  test('maps every JobSpec field to its 23.11+ key and shape', () => {
    const { job } = toJobDescriptionSubmission(request({ ...FULL_SPEC, signal: 'USR1@60' }), NOW, 'login1');
    assert.deepEqual(job, {
      script: '#!/bin/bash\necho hi\n',
      environment: [
        'PATH=/usr/bin:/bin',
        'FOO=bar',
        // what sbatch itself would have added for these options (as on v0.0.38)
        'SLURM_GET_USER_ENV=1',
        'SLURM_CPUS_PER_TASK=2',
        'SLURM_NTASKS_PER_NODE=2',
        'SLURM_OPEN_MODE=a',
        'SLURM_JOB_DEPENDENCY=afterok:12:13_2,singleton',
        'SLURM_PRIO_PROCESS=0',
        'SLURM_SUBMIT_DIR=/home/alice/work',
        'SLURM_SUBMIT_HOST=login1',
      ],
      current_working_directory: '/home/alice/work',
      name: 'train',
      partition: 'debug',
      account: 'proj',
      qos: 'normal',
      reservation: 'r1',
      comment: 'arch:job-123',
      nodes: '1-2',
      tasks: 4,
      tasks_per_node: 2,
      cpus_per_task: 2,
      memory_per_node: set(1024),
      time_limit: set(90),
      time_minimum: set(30),
      tres_per_node: 'gres/gpu:1,gres/gpu:1',
      tres_per_job: 'gres/gpu:2',
      tres_per_task: 'gres/gpu:1',
      constraints: 'avx2',
      shared: ['none'],
      licenses: 'matlab:1',
      array: '0-15:4%2',
      dependency: 'afterok:12:13_2,singleton',
      hold: true,
      begin_time: set(NOW + 3600),
      nice: 10,
      requeue: false,
      kill_warning_signal: 'USR1',
      kill_warning_delay: set(60),
      mail_type: ['END', 'FAIL'],
      mail_user: 'alice@example.org',
      standard_output: 'out-%j.txt',
      standard_error: 'err-%j.txt',
      standard_input: '/dev/null',
      open_mode: ['APPEND'],
    });
  });

  test('sbatch words the API spells differently; what it cannot carry is refused, naming the option', () => {
    const { job } = toJobDescriptionSubmission(
      request({ timeLimitMinutes: null, exclusive: 'user', mailType: ['ALL', 'TIME_LIMIT_80', 'INVALID_DEPEND'], memPerGpuMb: 2048, begin: 'now' }),
      NOW,
      'login1',
    );
    assert.deepEqual(job.time_limit, { set: true, infinite: true, number: 0 });
    assert.deepEqual(job.shared, ['user']);
    // ALL as 24.11's sbatch expands it (INVALID_DEPEND included), each flag once.
    assert.deepEqual(job.mail_type, ['INVALID_DEPENDENCY', 'BEGIN', 'END', 'FAIL', 'REQUEUE', 'STAGE_OUT', 'TIME=80%']);
    assert.equal(job.memory_per_tres, 'gres/gpu:2048');
    assert.deepEqual(job.begin_time, set(NOW));
    assert.throws(
      () => toJobDescriptionSubmission(request({ begin: '2026-12-01T10:00' }), NOW, 'login1'),
      (e: unknown) => e instanceof SlurmInexpressibleError && /^begin:/.test(e.message),
    );
    assert.throws(
      () => toJobDescriptionSubmission(request({ signal: 'B:USR1@60' }), NOW, 'login1'),
      (e: unknown) => e instanceof SlurmInexpressibleError && /^signal:/.test(e.message),
    );
    assert.throws(
      () => toJobDescriptionSubmission(request({}, { environment: {} }), NOW, 'login1'),
      (e: unknown) => e instanceof SlurmRejectedError && e.code === 2127,
    );
    assert.throws(() => toJobDescriptionSubmission(request({}, { workingDirectory: 'rel' }), NOW, 'login1'), /absolute/);
    assert.throws(() => toJobDescriptionSubmission(request({}, { script: 'echo' }), NOW, 'login1'), /#!/);
  });
});

describe('REST job properties', () => {
  test('maps every JobSpec field to an accepted v0.0.38 key', () => {
    // slurmrestd 22.05 refuses the B: flag (below); R: is what it takes.
    const job = toJobProperties(request({ ...FULL_SPEC, signal: 'R:USR1@60' }), 'login1');
    assert.deepEqual(job, {
      environment: {
        PATH: '/usr/bin:/bin',
        FOO: 'bar',
        // what sbatch itself would have added for these options
        SLURM_GET_USER_ENV: '1',
        SLURM_CPUS_PER_TASK: '2',
        SLURM_NTASKS_PER_NODE: '2',
        SLURM_OPEN_MODE: 'a',
        SLURM_JOB_DEPENDENCY: 'afterok:12:13_2,singleton',
        SLURM_PRIO_PROCESS: '0',
        SLURM_SUBMIT_DIR: '/home/alice/work',
        SLURM_SUBMIT_HOST: 'login1',
      },
      current_working_directory: '/home/alice/work',
      name: 'train',
      partition: 'debug',
      account: 'proj',
      qos: 'normal',
      reservation: 'r1',
      comment: 'arch:job-123',
      nodes: '1-2',
      tasks: 4,
      tasks_per_node: 2,
      cpus_per_task: 2,
      memory_per_node: 1024,
      time_limit: 90,
      time_minimum: 30,
      gres: 'gpu:1',
      gpus: '2',
      gpus_per_node: '1',
      gpus_per_task: '1',
      constraints: 'avx2',
      exclusive: 'exclusive',
      licenses: 'matlab:1',
      array: '0-15:4%2',
      dependency: 'afterok:12:13_2,singleton',
      hold: true,
      begin_time: 'now+1hour',
      nice: 10,
      no_requeue: true,
      signal: 'R:USR1@60',
      mail_type: 'END,FAIL',
      mail_user: 'alice@example.org',
      standard_output: 'out-%j.txt',
      standard_error: 'err-%j.txt',
      standard_input: '/dev/null',
      open_mode: 'append',
    });
    assert.equal('export' in job, false);
  });
  test('minimal, unlimited time, requeue, nodes as a string', () => {
    assert.deepEqual(toJobProperties(request({}), 'login1'), {
      environment: {
        PATH: '/usr/bin:/bin',
        FOO: 'bar',
        SLURM_GET_USER_ENV: '1',
        SLURM_PRIO_PROCESS: '0',
        SLURM_SUBMIT_DIR: '/home/alice/work',
        SLURM_SUBMIT_HOST: 'login1',
      },
      current_working_directory: '/home/alice/work',
      comment: 'arch:job-123',
    });
    const job = toJobProperties(request({ timeLimitMinutes: null, requeue: true, nodes: { min: 3 }, exclusive: 'user', memPerNodeMb: 0 }), 'login1');
    assert.equal(job.time_limit, 'UNLIMITED');
    assert.equal(job.requeue, true);
    assert.equal(job.no_requeue, undefined);
    assert.equal(job.nodes, '3');
    assert.equal(job.exclusive, 'user');
    assert.equal(job.memory_per_node, 0);
  });
  test('refuses an empty environment, bad names, relative cwd, a script without #!', () => {
    assert.throws(
      () => toJobProperties(request({}, { environment: {} }), 'login1'),
      (e: unknown) => e instanceof SlurmRejectedError && e.code === 2127,
    );
    assert.throws(() => toJobProperties(request({}, { environment: { 'A-B': 'x' } }), 'login1'), /invalid environment variable name/);
    assert.throws(() => toJobProperties(request({}, { workingDirectory: 'rel' }), 'login1'), /absolute/);
    assert.throws(() => toJobSubmission(request({}, { script: 'echo no shebang' }), 'login1'), /#!/);
    assert.deepEqual(Object.keys(toJobSubmission(request({}), 'login1')), ['script', 'job']);
  });
  test('refuses what slurmrestd 22.05 cannot parse, naming the option and where it works', () => {
    for (const signal of ['B:USR1@60', 'b:10', 'BR:TERM@30']) {
      assert.throws(
        () => toJobProperties(request({ signal }), 'login1'),
        (e: unknown) => e instanceof SlurmRejectedError && e.message.startsWith(`--signal=${signal}:`) && /SSH/.test(e.message),
      );
    }
    assert.throws(
      () => toJobProperties(request({ memPerGpuMb: 1024 }), 'login1'),
      (e: unknown) => e instanceof SlurmRejectedError && /^--mem-per-gpu:/.test(e.message),
    );
    assert.equal(toJobProperties(request({ signal: 'USR1@60' }), 'login1').signal, 'USR1@60');
  });
  test('-N with -c and no -n sends one task per node, as sbatch asks for nodes × cpus-per-task CPUs', () => {
    assert.equal(toJobProperties(request({ nodes: { min: 2 }, cpusPerTask: 4 }), 'login1').tasks, 2);
    assert.equal(toJobProperties(request({ nodes: { min: 2 }, cpusPerTask: 4, ntasks: 5 }), 'login1').tasks, 5);
    assert.equal(toJobProperties(request({ cpusPerTask: 4 }), 'login1').tasks, undefined);
  });
  test('refuses a stored environment that smuggles SLURM settings or loader variables (rows older than the edge rule)', () => {
    for (const name of ['SBATCH_CLUSTERS', 'SLURM_CONF', 'LD_PRELOAD']) {
      assert.throws(
        () => toJobProperties(request({}, { environment: { PATH: '/bin', [name]: 'x' } }), 'login1'),
        (e: unknown) => e instanceof SlurmRejectedError && e.message.includes(name),
      );
    }
    assert.equal(toJobProperties(request({}, { environment: { PATH: '/bin', SLURM_EXPORT_ENV: 'NONE' } }), 'login1').environment?.SLURM_EXPORT_ENV, 'NONE');
  });
});

describe('sbatch argv', () => {
  test('renders every option as --flag=value', () => {
    assert.deepEqual(renderSbatchArgv(FULL_SPEC, { workingDirectory: '/home/alice/work', comment: 'arch:job-123' }), [
      '--job-name=train',
      '--partition=debug',
      '--account=proj',
      '--qos=normal',
      '--reservation=r1',
      '--comment=arch:job-123',
      '--nodes=1-2',
      '--ntasks=4',
      '--ntasks-per-node=2',
      '--cpus-per-task=2',
      '--mem=1024',
      '--time=90',
      '--time-min=30',
      '--gres=gpu:1',
      '--gpus=2',
      '--gpus-per-node=1',
      '--gpus-per-task=1',
      '--constraint=avx2',
      '--exclusive',
      '--licenses=matlab:1',
      '--array=0-15:4%2',
      '--dependency=afterok:12:13_2,singleton',
      '--hold',
      '--begin=now+1hour',
      '--nice=10',
      '--no-requeue',
      '--signal=B:USR1@60',
      '--mail-type=END,FAIL',
      '--mail-user=alice@example.org',
      '--output=out-%j.txt',
      '--error=err-%j.txt',
      '--input=/dev/null',
      '--open-mode=append',
      '--chdir=/home/alice/work',
    ]);
  });
  test('unlimited time, exclusive=user, spec comment, integer checks', () => {
    assert.deepEqual(renderSbatchArgv({ timeLimitMinutes: null, exclusive: 'mcs', comment: 'c', requeue: true }), [
      '--comment=c',
      '--time=UNLIMITED',
      '--exclusive=mcs',
      '--requeue',
    ]);
    assert.throws(() => renderSbatchArgv({ ntasks: 1.5 }), /integer/);
    assert.throws(() => renderSbatchArgv({ nodes: { min: 3, max: 2 } }), /integer >= 3/);
  });
});

describe('shellQuote', () => {
  const HOSTILE = [
    "it's",
    '$(touch /tmp/pwned)',
    '`id`',
    'a\nb',
    '"; rm -rf / #',
    '$HOME ${PATH}',
    '\\',
    "'",
    "''",
    '*?[]{}~!&|<>;',
    '-n',
    ' leading and trailing ',
    'ünïcødé',
    '',
  ];
  test('safe words stay bare, others are single-quoted', () => {
    assert.equal(shellQuote('abc-1.2_/x:y=z,%@+'), 'abc-1.2_/x:y=z,%@+');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('$(x)'), "'$(x)'");
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
  test('the shell reads every hostile value back unchanged (sh -c printf)', () => {
    const script = `printf '%s\\0' ${shellJoin(HOSTILE)}`;
    const out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), HOSTILE);
  });
  test('environment assignments', () => {
    assert.deepEqual(renderEnvAssignments({ A: 'x y', B_2: "q'" }), ["'A=x y'", "'B_2=q'\\'''"]);
    assert.throws(() => renderEnvAssignments({ 'X;Y': '1' }), /invalid environment variable name/);
    const script = `env -i ${renderEnvAssignments({ V: '$(id) `id` "\n' }).join(' ')} /usr/bin/printenv V`;
    assert.equal(execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' }), '$(id) `id` "\n\n');
  });
});

describe('ssh commands', () => {
  test('submit command: cd, env -i with exactly the job environment + SLURM_CONF, quoted argv', () => {
    const cmd = renderSubmitCommand(request({ jobName: "x'$(y)", partition: 'debug' }, { environment: { PATH: '/bin', EVIL: '`id`' } }), {
      SLURM_CONF: '/etc/a b/slurm.conf',
    });
    assert.equal(
      cmd,
      "cd /home/alice/work || exit 78; s=$(command -v sbatch) || { echo 'sbatch: command not found' >&2; exit 127; }; " +
        "exec env -i PATH=/bin 'EVIL=`id`' SLURM_GET_USER_ENV=1 'SLURM_CONF=/etc/a b/slurm.conf' \"$s\" --parsable --ignore-pbs --export=ALL " +
        "'--job-name=x'\\''$(y)' --partition=debug --comment=arch:job-123 --chdir=/home/alice/work",
    );
    assert.throws(() => renderSubmitCommand(request({}, { environment: {} }), {}), /environment/);
    assert.throws(() => renderSubmitCommand(request({}, { script: 'no shebang' }), {}), /#!/);
    for (const name of ['SLURM_CLUSTERS', 'SBATCH_EXPORT', 'LD_PRELOAD', 'GCONV_PATH']) {
      assert.throws(
        () => renderSubmitCommand(request({}, { environment: { PATH: '/bin', [name]: 'x' } }), {}),
        (e: unknown) => e instanceof SlurmRejectedError && e.message.includes(name),
      );
    }
  });
  test('parsers', () => {
    assert.deepEqual(parseParsable('42\n'), { jobId: 42 });
    assert.deepEqual(parseParsable('42;local-a\n'), { jobId: 42, cluster: 'local-a' });
    assert.throws(() => parseParsable('Submitted batch job 42'), /unexpected/);
    assert.deepEqual(parseScontrolPing('slurm-wlm 22.05.8\nSlurmctld(primary) at vm is UP\n'), { up: true, hostname: 'vm', version: '22.05.8' });
    assert.deepEqual(parseScontrolPing('slurm 22.05.8\nSlurmctld(primary) at c1 is DOWN\n'), { up: false, hostname: 'c1', version: '22.05.8' });
    assert.equal(slurmErrorText('sbatch: error: Batch job submission failed: Invalid partition name specified\n'), 'Invalid partition name specified');
    assert.equal(slurmErrorText('slurm_suspend error: Job has already finished\n'), 'Job has already finished');
  });
  test('host key fingerprints and pins', () => {
    const blob = Buffer.from('ssh-ed25519 fake key blob');
    const fp = sshFingerprintSha256(blob);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(normalizeHostKeyPin(`256 ${fp} root@vm (ED25519)\n`), fp);
    assert.equal(normalizeHostKeyPin(fp.slice(7)), fp);
    assert.throws(() => normalizeHostKeyPin('md5:aa:bb'), /not a SHA256/);
  });
});

describe('job record mapping', () => {
  const raw: V0038JobRecord = {
    job_id: 118,
    name: 'rest1',
    user_name: 'alice',
    comment: 'arch:job-123',
    job_state: 'FAILED',
    state_reason: 'NonZeroExitCode',
    partition: 'debug',
    nodes: 'n1',
    batch_host: 'n1',
    exit_code: 768,
    submit_time: 1795343056,
    start_time: 1795343057,
    end_time: 1795343060,
    standard_output: '/tmp/rest-%j.out',
    standard_error: '',
    current_working_directory: '/tmp',
    array_job_id: 0,
    array_task_id: null as unknown as number,
    array_task_string: '',
  };
  test('decodes the raw wait status', () => {
    assert.deepEqual(decodeExitCode(768), { exitCode: 3, exitSignal: null });
    assert.deepEqual(decodeExitCode(9), { exitCode: 0, exitSignal: 9 });
    assert.deepEqual(decodeExitCode(0), { exitCode: 0, exitSignal: null });
    assert.deepEqual(decodeExitCode(0xfffffffe), { exitCode: null, exitSignal: null });
    assert.deepEqual(decodeExitCode(undefined), { exitCode: null, exitSignal: null });
  });
  test('maps a finished job', () => {
    assert.deepEqual(toSlurmJobRecord(raw), {
      jobId: 118,
      name: 'rest1',
      userName: 'alice',
      comment: 'arch:job-123',
      state: 'FAILED',
      stateReason: 'NonZeroExitCode',
      partition: 'debug',
      nodes: 'n1',
      batchHost: 'n1',
      exitCode: 3,
      exitSignal: null,
      submitTime: 1795343056,
      startTime: 1795343057,
      endTime: 1795343060,
      standardOutput: '/tmp/rest-%j.out',
      standardError: '',
      workingDirectory: '/tmp',
    });
  });
  test('killed by signal 9; running jobs have no exit code; array tasks; zero times', () => {
    const killed = toSlurmJobRecord({ ...raw, job_state: 'CANCELLED', exit_code: 9 });
    assert.equal(killed.exitCode, 0);
    assert.equal(killed.exitSignal, 9);
    const running = toSlurmJobRecord({ ...raw, job_state: 'RUNNING', exit_code: 0, end_time: 0 });
    assert.equal(running.exitCode, null);
    assert.equal(running.endTime, null);
    const completing = toSlurmJobRecord({ ...raw, job_state: 'COMPLETING' });
    assert.equal(completing.exitCode, null);
    const task = toSlurmJobRecord({ ...raw, job_id: 120, array_job_id: 119, array_task_id: 1 });
    assert.equal(task.arrayJobId, 119);
    assert.equal(task.arrayTaskId, 1);
    const rest = toSlurmJobRecord({ ...raw, job_id: 119, array_job_id: 119, array_task_id: 4294967294, array_task_string: '3-9%2', job_state: 'PENDING' });
    assert.equal(rest.arrayTaskId, undefined);
    assert.equal(rest.arrayTaskString, '3-9%2');
    assert.equal('arrayJobId' in toSlurmJobRecord(raw), false);
  });
  test('fingerprint ignores order, sees changes', () => {
    const a = toSlurmJobRecord(raw);
    const b = toSlurmJobRecord({ ...raw, job_id: 119 });
    assert.equal(fingerprintJobs([a, b]), fingerprintJobs([b, a]));
    assert.notEqual(fingerprintJobs([a, b]), fingerprintJobs([a, { ...b, state: 'RUNNING' }]));
  });
});

describe('errors', () => {
  test('both key sets; rejected vs unavailable', () => {
    const items = normalizeErrors([
      { error: 'Invalid exclusive specification', error_code: -1 },
      { description: 'Unable to process key "exclusive"', error_number: -1, error: 'Unspecified error', source: 'x' },
      { error_code: 9001, error: 'Failure during parsing' },
    ]);
    assert.equal(items.length, 3);
    assert.equal(items[1]!.message, 'Unspecified error: Unable to process key "exclusive"');
    const rejected = errorFromItems(normalizeErrors([{ error: 'Invalid partition name specified', error_code: 2000 }]), 500, 'submit');
    assert.ok(rejected instanceof SlurmRejectedError);
    assert.equal(rejected.code, 2000);
    assert.equal(rejected.httpStatus, 500);
    const parse = errorFromItems(items, 400, 'submit');
    assert.ok(parse instanceof SlurmRejectedError && parse.code === 9001);
    const down = errorFromItems(normalizeErrors([{ error: 'Zero Bytes were transmitted or received', error_code: 5005 }]), 500, 'submit');
    assert.ok(down instanceof SlurmUnavailableError);
    // what slurmrestd answers for a token signed with the wrong key
    const badToken = errorFromItems(normalizeErrors([{ description: 'Unable to find JobId=1', error_number: -1, error: 'Unspecified error' }]), 500, 'get');
    assert.ok(badToken instanceof SlurmUnavailableError);
  });
  test('acting users', () => {
    for (const bad of ['root', 'slurm', '', '-x', 'a b', 'a;b', 'x'.repeat(40), '../etc']) {
      assert.throws(() => assertActingUser(bad), /privileged|invalid|empty/, bad);
    }
    assertActingUser('alice');
    assertActingUser('svc_archipelago-1');
    assert.throws(() => assertActingUser('slurmrest', ['slurmrest']), /privileged/);
  });
});

describe('JWT', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');
  const verify = (token: string) => {
    const [h, p, s] = token.split('.');
    assert.ok(h && p && s);
    assert.equal(createHmac('sha256', key).update(`${h}.${p}`).digest('base64url'), s);
    return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), claims: JSON.parse(Buffer.from(p, 'base64url').toString()) };
  };
  test('HS256 with exactly {iat, exp, sun}, signed with the island key', () => {
    const { header, claims } = verify(mintSlurmJwt(key, 'alice', 300, 1_800_000_000));
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(claims, { iat: 1_800_000_000, exp: 1_800_000_300, sun: 'alice' });
  });
  test('refuses root/slurm/invalid users and weak input', () => {
    assert.throws(() => mintSlurmJwt(key, 'root', 300), /privileged/);
    assert.throws(() => mintSlurmJwt(key, 'slurm', 300), /privileged/);
    assert.throws(() => mintSlurmJwt(key, '', 300), /empty/);
    assert.throws(() => mintSlurmJwt(key, 'al ice', 300), /invalid/);
    assert.throws(() => mintSlurmJwt(Buffer.alloc(4), 'alice', 300), /key/);
    assert.throws(() => mintSlurmJwt(key, 'alice', 0), /lifetime/);
  });
  test('cache: reused until half-life, per user, then renewed with a fresh expiry', () => {
    let now = 1_800_000_000_000;
    const cache = new SlurmTokenCache(key, 60, () => now);
    const t1 = cache.tokenFor('alice');
    assert.equal(cache.tokenFor('alice'), t1);
    assert.notEqual(cache.tokenFor('bob'), t1);
    assert.equal(verify(cache.tokenFor('bob')).claims.sun, 'bob');
    now += 29_000;
    assert.equal(cache.tokenFor('alice'), t1);
    now += 1_000;
    const t2 = cache.tokenFor('alice');
    assert.notEqual(t2, t1);
    assert.equal(verify(t2).claims.exp, 1_800_000_030 + 60);
  });
});

describe('node records (slurmrestd /nodes, sinfo --json)', () => {
  // As `sinfo --json` prints a node of the local islands (Slurm 22.05), trimmed.
  const sinfoNode = {
    name: 'local-a-n1',
    state: 'idle',
    state_flags: [],
    cpus: 4,
    alloc_cpus: 0,
    idle_cpus: 4,
    real_memory: 2000,
    alloc_memory: 0,
    free_memory: 22837,
    features: '',
    active_features: '',
    partitions: ['debug', 'short'],
    gres: '',
    gres_used: '',
    address: 'localhost',
    sockets: 1,
    cores: 4,
    threads: 1,
  };

  test('maps the fields placement uses; empty strings become empty lists', () => {
    assert.deepEqual(toSlurmNodeRecord(sinfoNode as V0038NodeRecord), {
      name: 'local-a-n1',
      state: 'idle',
      stateFlags: [],
      cpus: 4,
      allocCpus: 0,
      idleCpus: 4,
      realMemoryMb: 2000,
      allocMemoryMb: 0,
      features: [],
      activeFeatures: [],
      partitions: ['debug', 'short'],
      gres: '',
      gresUsed: '',
    });
  });

  test('missing counters, sentinels and (null) strings are read as nothing', () => {
    const r = toSlurmNodeRecord({
      name: 'x',
      state: 'DOWN',
      cpus: 16,
      alloc_cpus: 4,
      real_memory: 0xfffffffe,
      gres: '(null)',
      features: 'a, b',
    } as V0038NodeRecord);
    assert.equal(r.idleCpus, 12, 'idle = cpus - alloc when idle_cpus is absent');
    assert.equal(r.realMemoryMb, 0);
    assert.equal(r.allocMemoryMb, 0);
    assert.equal(r.gres, '');
    assert.deepEqual(r.features, ['a', 'b']);
    assert.deepEqual(r.partitions, []);
    assert.deepEqual(r.stateFlags, []);
  });

  test('parseNodesJson: nodes of the document; no JSON or errors are SlurmUnavailableError', () => {
    const doc = JSON.stringify({ meta: {}, errors: [], nodes: [sinfoNode, { ...sinfoNode, name: 'local-a-n2', state: 'mixed', alloc_cpus: 2, idle_cpus: 2 }] });
    assert.deepEqual(
      parseNodesJson(doc)!.map((n) => [n.name, n.state, n.idleCpus]),
      [
        ['local-a-n1', 'idle', 4],
        ['local-a-n2', 'mixed', 2],
      ],
    );
    assert.deepEqual(parseNodesJson(JSON.stringify({ nodes: [] })), []);
    assert.throws(() => parseNodesJson('sinfo: error: unrecognized option'), SlurmUnavailableError);
    assert.throws(
      () => parseNodesJson(JSON.stringify({ errors: [{ error: 'Unable to contact slurm controller', error_number: 1007 }], nodes: [] })),
      SlurmUnavailableError,
    );
  });

  test("parseNodesJson: 24.11's sinfo --json summaries are not node records (null: ask scontrol)", () => {
    const sinfo = JSON.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/slurm-24.11/cli/sinfo.json'), 'utf8'));
    assert.equal(parseNodesJson(JSON.stringify(sinfo.stdout)), null);
  });
});
