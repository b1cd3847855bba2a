import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Problem } from '../../src/core/common/problem';
import { normalizeSubmission, userConstraints, type SubmissionPolicy, type SubmitInput } from '../../src/core/jobs/job-request';

const POLICY: SubmissionPolicy = {
  slurmUser: 'alice',
  workdirRoots: ['/home/{user}', '/scratch/{user}'],
  defaultEnvironment: { PATH: '/usr/bin:/bin' },
  maxScriptBytes: 1024,
  partitions: new Set(['debug', 'gpu']),
};

function script(...directives: string[]): string {
  return ['#!/bin/sh', ...directives.map((d) => `#SBATCH ${d}`), 'hostname', ''].join('\n');
}

function submit(input: Partial<SubmitInput> = {}, policy: Partial<SubmissionPolicy> = {}) {
  return normalizeSubmission({ script: script(), ...input }, { ...POLICY, ...policy });
}

/** Asserts a 400 Problem naming `field` (and, when given, a detail matching `detail`). */
function refused(fn: () => unknown, field: string, detail?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Problem, `expected a Problem, got ${String(error)}`);
    assert.equal(error.status, 400);
    assert.equal(error.extras.field, field);
    if (detail) assert.match(error.detail, detail);
    return true;
  });
}

describe('normalizeSubmission: a plain job', () => {
  it('defaults: name sbatch, home directory, default environment, no dependencies, not an array', () => {
    const job = submit();
    assert.equal(job.name, 'sbatch');
    assert.equal(job.spec.jobName, 'sbatch');
    assert.equal(job.workingDirectory, '/home/alice');
    assert.deepEqual(job.environment, { PATH: '/usr/bin:/bin' });
    assert.deepEqual(job.dependsOn, []);
    assert.equal(job.arraySize, null);
    assert.equal(job.script, script());
  });
  it('takes the job name from the script or the options', () => {
    assert.equal(submit({ script: script('-J build') }).name, 'build');
    assert.equal(submit({ options: { 'job-name': 'from-options' } }).name, 'from-options');
  });
  it('names the job after its script file when no --job-name is given, as sbatch run.sh does', () => {
    const job = submit({ scriptName: 'run.sh' });
    assert.equal(job.name, 'run.sh');
    assert.equal(job.spec.jobName, 'run.sh');
    assert.equal(submit({ scriptName: 'run.sh', script: script('-J build') }).name, 'build');
    assert.equal(submit({ scriptName: 'run.sh', options: { 'job-name': 'opt' } }).name, 'opt');
  });
  it('--wrap makes the script sbatch would make, and the job is named wrap (unless -J says otherwise)', () => {
    const job = normalizeSubmission({ options: { wrap: 'echo hi; hostname', time: 5 } }, POLICY);
    assert.equal(job.script, '#!/bin/sh\n# This script was created by sbatch --wrap.\n\necho hi; hostname\n');
    assert.equal(job.name, 'wrap');
    assert.equal(job.spec.timeLimitMinutes, 5);
    assert.equal(normalizeSubmission({ options: { wrap: 'true', 'job-name': 'mine' } }, POLICY).name, 'mine');
    assert.equal(normalizeSubmission({ script: '', options: { wrap: 'true' }, scriptName: 'x.sh' }, POLICY).name, 'wrap');
  });
  it('refuses --wrap with a script, an empty command, or in a directive', () => {
    refused(() => submit({ options: { wrap: 'true' } }), 'script', /not permitted with --wrap/);
    refused(() => normalizeSubmission({ options: { wrap: '  ' } }, POLICY), 'options.wrap', /non-empty/);
    refused(() => normalizeSubmission({ options: { wrap: 42 } }, POLICY), 'options.wrap');
    refused(() => submit({ script: script('--wrap=true') }), 'script:line 2', /not a directive inside a script/);
    refused(() => normalizeSubmission({ options: { wrap: 'x'.repeat(2000) } }, POLICY), 'options.wrap', /larger than 1024 bytes/);
    refused(() => normalizeSubmission({}, POLICY), 'script', /empty/);
  });
  it('refuses a script name with a directory or that is no file name', () => {
    refused(() => submit({ scriptName: 'jobs/run.sh' }), 'scriptName', /"\/"/);
    refused(() => submit({ scriptName: '..' }), 'scriptName');
    refused(() => submit({ scriptName: '' }), 'scriptName', /empty/);
    refused(() => submit({ scriptName: 'a\nb' }), 'scriptName');
  });
  it('counts array tasks', () => {
    assert.equal(submit({ script: script('--array=0-3%2') }).arraySize, 4);
    assert.equal(submit({ script: script('--array=1,5,9') }).arraySize, 3);
  });
  it('accepts a partition some island offers', () => {
    assert.equal(submit({ options: { partition: 'gpu' } }).spec.partition, 'gpu');
  });
});

describe('normalizeSubmission: script', () => {
  it('refuses a script larger than maxScriptBytes, counted in UTF-8 bytes', () => {
    const base = script();
    const pad = 1024 - Buffer.byteLength(base);
    assert.equal(submit({ script: base + '#'.repeat(pad) }).script.length, 1024);
    refused(() => submit({ script: base + '#'.repeat(pad + 1) }), 'script', /1024 bytes/);
    // Fewer characters than the limit, but more bytes.
    const wide = base + '#' + 'é'.repeat(Math.ceil(pad / 2));
    assert.ok(wide.length <= 1024);
    refused(() => submit({ script: wide }), 'script');
  });
  it('turns a parse error into a 400 Problem naming the line', () => {
    refused(() => submit({ script: 'echo hi\n' }), 'script:line 1');
  });
});

describe('normalizeSubmission: job name and partition', () => {
  it('refuses a job name with "/"', () => {
    refused(() => submit({ script: script('--job-name=a/b') }), '--job-name', /\//);
  });
  it('refuses the job name ".."', () => {
    refused(() => submit({ script: script('-J ..') }), '--job-name');
  });
  it('refuses a partition no island offers', () => {
    refused(() => submit({ options: { partition: 'bigmem' } }), '--partition', /bigmem/);
  });
});

describe('normalizeSubmission: dependencies', () => {
  it('returns the numeric ids of every target, once each', () => {
    const job = submit({ script: script('--dependency=afterok:5:6?afterany:7') });
    assert.deepEqual(
      [...job.dependsOn].sort((a, b) => a - b),
      [5, 6, 7],
    );
    assert.deepEqual(submit({ script: script('--dependency=afterok:9,afterany:9') }).dependsOn, [9]);
  });
  it('keeps the dependency spec for the dispatcher', () => {
    const job = submit({ script: script('--dependency=afterok:5') });
    assert.deepEqual(job.spec.dependency, { combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: '5' }] }] });
  });
  it('refuses array-task targets, which are not Archipelago job ids', () => {
    refused(() => submit({ script: script('--dependency=afterok:12_3') }), '--dependency', /12_3/);
    refused(() => submit({ script: script('--dependency=afterok:12_*') }), '--dependency');
  });
  it('refuses more than 100 distinct jobs', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(':');
    assert.equal(submit({ script: script(`--dependency=afterany:${ids(100)}`) }).dependsOn.length, 100);
    refused(() => submit({ script: script(`--dependency=afterany:${ids(101)}`) }), '--dependency', /100/);
  });
});

describe('normalizeSubmission: environment', () => {
  it('--export=ALL (the default) is the default environment overlaid by the submitted one', () => {
    const job = submit({ environment: { PATH: '/opt/bin', FOO: 'bar' } });
    assert.deepEqual(job.environment, { PATH: '/opt/bin', FOO: 'bar' });
  });
  it('--export=ALL,VAR=value adds and overrides', () => {
    const job = submit({ script: script('--export=ALL,BAR=2,FOO=override'), environment: { FOO: 'bar' } });
    assert.deepEqual(job.environment, { PATH: '/usr/bin:/bin', FOO: 'override', BAR: '2' });
  });
  it('--export=NONE passes nothing but the export mode', () => {
    const job = submit({ script: script('--export=NONE'), environment: { FOO: 'bar' } });
    assert.deepEqual(job.environment, { SLURM_EXPORT_ENV: 'NONE' });
  });
  it('--export=NONE,VAR passes VAR through from the submitted environment only', () => {
    const job = submit({ script: script('--export=NONE,FOO,PATH,MISSING,BAR=2'), environment: { FOO: 'bar', OTHER: 'x' } });
    // As sbatch records it for srun: steps export the listed variables (native: SLURM_EXPORT_ENV=FOO=bar for --export=FOO=bar).
    assert.deepEqual(job.environment, { FOO: 'bar', BAR: '2', SLURM_EXPORT_ENV: 'FOO,BAR' });
  });
  it('--export=NIL is recorded as such', () => {
    assert.deepEqual(submit({ script: script('--export=NIL') }).environment, { SLURM_EXPORT_ENV: 'NIL' });
  });
  it('refuses SBATCH_* and SLURM_CONF in the submitted environment, naming the option each stands for', () => {
    refused(() => submit({ environment: { SBATCH_PARTITION: 'gpu' } }), 'environment.SBATCH_PARTITION', /read by sbatch as --partition; pass --partition/);
    refused(() => submit({ environment: { SLURM_CONF: '/tmp/slurm.conf' } }), 'environment.SLURM_CONF', /SLURM's own namespace/);
  });
  it('refuses SLURM_CLUSTERS and SBATCH_CLUSTERS as --clusters is refused', () => {
    refused(() => submit({ environment: { SLURM_CLUSTERS: 'other' } }), 'environment.SLURM_CLUSTERS', /--clusters, which is refused: Archipelago chooses/);
    refused(() => submit({ environment: { SBATCH_CLUSTERS: 'other' } }), 'environment.SBATCH_CLUSTERS', /--clusters, which is refused/);
  });
  it('refuses SBATCH_* brought in through --export, with or without a value', () => {
    refused(() => submit({ script: script('--export=ALL,SBATCH_CLUSTERS=other') }), 'environment.SBATCH_CLUSTERS');
    refused(() => submit({ script: script('--export=NONE,SLURM_JWT'), environment: {} }), 'environment.SLURM_JWT');
    refused(() => submit({ options: { export: 'ALL,LD_PRELOAD=/tmp/x.so' } }), 'environment.LD_PRELOAD', /loaded/);
  });
  it('refuses loader and resolver variables', () => {
    for (const name of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'GCONV_PATH', 'GLIBC_TUNABLES', 'HOSTALIASES']) {
      refused(() => submit({ environment: { [name]: 'x' } }), `environment.${name}`, /cannot be set for a job/);
    }
  });
  it('refuses every other SLURM_ variable too (slurmstepd reads SLURM_UMASK, SLURM_RLIMIT_*, SLURM_SPANK_* from the job)', () => {
    for (const name of ['SLURM_MY_SETTING', 'SLURM_UMASK', 'SLURM_RLIMIT_NOFILE', 'SLURM_SPANK_X', 'SALLOC_PARTITION', 'SRUN_CPUS_PER_TASK']) {
      refused(() => submit({ environment: { [name]: '1' } }), `environment.${name}`);
    }
  });
  it('allows names that merely contain SBATCH, SLURM or LD', () => {
    const job = submit({ environment: { MY_SBATCH_X: '2', MYSLURM_Y: '3', OLD_PATH: '4', LDFLAGS: '-s' } });
    assert.equal(job.environment.MY_SBATCH_X, '2');
    assert.equal(job.environment.MYSLURM_Y, '3');
    assert.equal(job.environment.LDFLAGS, '-s');
  });
  it('still sets SLURM_EXPORT_ENV itself for --export=NONE', () => {
    assert.equal(submit({ script: script('--export=NONE') }).environment.SLURM_EXPORT_ENV, 'NONE');
  });
  for (const [label, value] of [
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\0b'],
  ] as const) {
    it(`refuses a value containing ${label}`, () => {
      refused(() => submit({ environment: { FOO: value } }), 'environment.FOO', /NUL, CR or LF/);
    });
  }
  it('refuses bad variable names', () => {
    refused(() => submit({ environment: { '1ABC': 'x' } }), 'environment.1ABC');
    refused(() => submit({ environment: { 'A-B': 'x' } }), 'environment.A-B');
    refused(() => submit({ environment: { '': 'x' } }), 'environment.');
    refused(() => submit({ environment: { ['A'.repeat(129)]: 'x' } }), `environment.${'A'.repeat(129)}`);
    assert.equal(submit({ environment: { ['A'.repeat(128)]: 'x' } }).environment['A'.repeat(128)], 'x');
  });
  it('refuses a non-string value', () => {
    refused(() => submit({ environment: { FOO: 3 as unknown as string } }), 'environment.FOO', /strings/);
  });
  it('refuses more than 512 variables', () => {
    const vars = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, '1']));
    assert.equal(Object.keys(submit({ environment: vars(511) }).environment).length, 512); // + PATH
    refused(() => submit({ environment: vars(513) }), 'environment', /512/);
  });
  it('refuses more than 128 KiB in all, counting the defaults that --export=ALL adds', () => {
    const limit = 128 * 1024;
    // name + value + 2 bytes per variable: exactly at the limit on its own.
    const big = { BIG: 'x'.repeat(limit - 'BIG'.length - 2) };
    refused(() => submit({ environment: { BIG: 'x'.repeat(limit - 'BIG'.length - 1) } }), 'environment', /bytes/);
    // With PATH added by ALL it is over; with NONE it is fine (and dropped).
    refused(() => submit({ environment: big }), 'environment', /bytes/);
    assert.deepEqual(submit({ script: script('--export=NONE'), environment: big }).environment, { SLURM_EXPORT_ENV: 'NONE' });
    assert.equal(submit({ environment: big }, { defaultEnvironment: {} }).environment.BIG.length, big.BIG.length);
  });
});

describe('normalizeSubmission: working directory', () => {
  it('a relative --chdir is taken from the first root', () => {
    assert.equal(submit({ options: { chdir: 'work/run1' } }).workingDirectory, '/home/alice/work/run1');
  });
  it('an absolute --chdir inside any root is kept, normalized', () => {
    assert.equal(submit({ script: script('--chdir=/scratch/alice//x/./y/') }).workingDirectory, '/scratch/alice/x/y');
    assert.equal(submit({ script: script('-D /home/alice') }).workingDirectory, '/home/alice');
  });
  it('refuses a --chdir outside the roots', () => {
    refused(() => submit({ script: script('--chdir=/home/bob') }), '--chdir', /outside/);
    refused(() => submit({ script: script('--chdir=/home/alice2') }), '--chdir');
    refused(() => submit({ script: script('--chdir=/tmp') }), '--chdir');
  });
  it('refuses `..` in --chdir, relative or absolute', () => {
    refused(() => submit({ options: { chdir: '../bob' } }), '--chdir', /\.\./);
    refused(() => submit({ script: script('--chdir=/home/alice/../bob') }), '--chdir', /\.\./);
    refused(() => submit({ script: script('--chdir=/home/alice/x/..') }), '--chdir');
  });
  it("uses the roots of the job's own user", () => {
    assert.equal(submit({}, { slurmUser: 'bob' }).workingDirectory, '/home/bob');
    refused(() => submit({ script: script('--chdir=/home/alice') }, { slurmUser: 'bob' }), '--chdir');
  });
});

describe('normalizeSubmission: output, error and input files', () => {
  it('accepts relative patterns (in the working directory) and absolute ones inside the roots', () => {
    const job = submit({ script: script('--chdir=/scratch/alice/run', '-o out-%j.txt', '-e /home/alice/logs/%x-%A_%a.err', '-i in.dat') });
    assert.equal(job.spec.output, 'out-%j.txt');
    assert.equal(job.spec.error, '/home/alice/logs/%x-%A_%a.err');
    assert.equal(job.spec.input, 'in.dat');
  });
  it('accepts /dev/null', () => {
    assert.equal(submit({ script: script('-o /dev/null', '-e /dev/null') }).spec.output, '/dev/null');
  });
  it('refuses absolute paths outside the roots, naming the option', () => {
    refused(() => submit({ script: script('-o /home/bob/steal.out') }), '--output', /outside/);
    refused(() => submit({ script: script('-e /tmp/x.err') }), '--error');
    refused(() => submit({ script: script('-i /etc/shadow') }), '--input');
  });
  it('refuses `..` in a relative pattern', () => {
    refused(() => submit({ script: script('-o ../bob/x.out') }), '--output', /\.\./);
    refused(() => submit({ options: { error: 'logs/../../bob/e' } }), '--error');
  });
  it('refuses backslash-escaped patterns that slurmstepd opens outside the roots', () => {
    // slurmstepd joins an escaped relative name to the directory without a "/":
    // `\/../bob/x` in /home/alice is /home/alice/../bob/x, and `out\%j` is /home/aliceout%j.
    refused(() => submit({ options: { output: '\\/../bob/x' } }), '--output');
    refused(() => submit({ options: { output: 'out\\%j' } }), '--output');
    refused(() => submit({ options: { input: '\\/../../etc/passwd' } }), '--input');
  });
  it('checks relative patterns against the --chdir directory', () => {
    // From /home/alice, `x.out` stays inside; the same job with chdir /scratch/alice too.
    assert.equal(submit({ options: { chdir: '/scratch/alice', output: 'x.out' } }).workingDirectory, '/scratch/alice');
  });
});

describe('userConstraints: the placement part of a submission', () => {
  it('maps performance to classes, drops empty lists and duplicates', () => {
    assert.deepEqual(userConstraints(undefined), {});
    assert.deepEqual(
      userConstraints({
        regions: ['eu', 'eu'],
        providers: [],
        performance: ['high'],
        islands: ['a'],
        excludeIslands: ['b'],
        maxIslandLatencyMs: 30,
        maxPricePerCoreHour: 0,
      }),
      { regions: ['eu'], performanceClasses: ['high'], islands: ['a'], excludeIslands: ['b'], maxIslandLatencyMs: 30, maxPricePerCoreHour: 0 },
    );
  });
});
