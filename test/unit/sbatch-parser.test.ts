import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseSubmission, SbatchParseError } from '../../src/core/sbatch/parse-sbatch';
import type { JobSpec } from '../../src/core/sbatch/job-spec';

/** A script with the given directive lines between a shebang and a command. */
function script(...lines: string[]): string {
  return ['#!/bin/bash', ...lines, 'srun hostname', ''].join('\n');
}

function spec(lines: string[], options?: Record<string, unknown>): JobSpec {
  return parseSubmission(script(...lines), options).spec;
}

interface Expected {
  field?: string;
  option?: string;
  reason?: RegExp;
}

/** Asserts that parsing fails with an SbatchParseError matching `expected`. */
function rejects(fn: () => unknown, expected: Expected): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SbatchParseError, `expected SbatchParseError, got ${String(err)}`);
    if (expected.field !== undefined) assert.equal(err.field, expected.field);
    if (expected.option !== undefined) assert.equal(err.option, expected.option);
    if (expected.reason !== undefined) assert.match(err.reason, expected.reason);
    return true;
  });
}

function rejectsLines(lines: string[], expected: Expected, options?: Record<string, unknown>): void {
  rejects(() => parseSubmission(script(...lines), options), expected);
}

describe('script-level checks (sbatch refuses these before reading directives)', () => {
  it('rejects an empty script', () => {
    rejects(() => parseSubmission(''), { field: 'script', reason: /empty/ });
  });
  it('rejects a whitespace-only script', () => {
    rejects(() => parseSubmission(' \n\t\n'), { field: 'script', reason: /whitespace/ });
  });
  it('rejects a script without a shebang', () => {
    rejects(() => parseSubmission('#SBATCH -N 2\nsrun hostname\n'), { field: 'script:line 1', reason: /#!/ });
    rejects(() => parseSubmission('echo hi\n'), { field: 'script:line 1', reason: /sbatch refuses/ });
  });
  it('rejects a shebang without interpreter', () => {
    rejects(() => parseSubmission('#!\nhostname\n'), { field: 'script:line 1' });
  });
  it('rejects a NUL byte and names its line', () => {
    rejects(() => parseSubmission('#!/bin/sh\n#SBATCH -N 1\necho a\u0000b\n'), { field: 'script:line 3', reason: /NUL/ });
  });
  it('rejects DOS line breaks', () => {
    rejects(() => parseSubmission('#!/bin/sh\r\n#SBATCH -N 1\r\nhostname\r\n'), { reason: /DOS/ });
  });
  it('rejects a non-string script', () => {
    rejects(() => parseSubmission(42 as unknown as string), { field: 'script' });
  });
  it('returns the script unchanged', () => {
    const body = script('#SBATCH -N 2 # two nodes', '#SBATCH --time=1:00:00');
    const parsed = parseSubmission(body);
    assert.equal(parsed.script, body);
    assert.deepEqual(parsed.spec, { nodes: { min: 2 }, timeLimitMinutes: 60 });
  });
  it('accepts a script with no directives', () => {
    assert.deepEqual(parseSubmission('#!/bin/bash\nhostname').spec, {});
  });
});

describe('which lines are directives', () => {
  it('ignores "# SBATCH" (space), "##SBATCH", lower case and indented forms', () => {
    assert.deepEqual(spec(['# SBATCH -N 4', '##SBATCH -N 5', '#sbatch -N 6', ' #SBATCH -N 7']), {});
  });
  it('stops at the first command', () => {
    const s = parseSubmission('#!/bin/bash\n#SBATCH -N 2\nmodule load x\n#SBATCH -N 9\n#SBATCH --uid=0\n').spec;
    assert.deepEqual(s.nodes, { min: 2 });
  });
  it('keeps reading through blank lines and comments', () => {
    const s = spec(['', '# a comment', '   ', '\t# indented comment', '#SBATCH -J after-blanks']);
    assert.equal(s.jobName, 'after-blanks');
  });
  it('honours the legacy #SLURM prefix like sbatch does', () => {
    assert.equal(spec(['#SLURM --partition=legacy']).partition, 'legacy');
  });
  it('reads several options on one line', () => {
    const s = spec(['#SBATCH -N 2 --ntasks=4 -c 8']);
    assert.deepEqual([s.nodes, s.ntasks, s.cpusPerTask], [{ min: 2 }, 4, 8]);
  });
  it('treats text after an unquoted # as a comment', () => {
    assert.equal(spec(['#SBATCH --time=10 # ten minutes']).timeLimitMinutes, 10);
    assert.equal(spec(['#SBATCH --time=10 #--uid=0']).timeLimitMinutes, 10);
  });
  it('ends the line even at a # inside a word, as sbatch does', () => {
    const s = spec(['#SBATCH -J a#b -N 3']);
    assert.equal(s.jobName, 'a');
    assert.equal(s.nodes, undefined);
  });
  it('accepts double- and single-quoted values', () => {
    assert.equal(spec(['#SBATCH --job-name="my job"']).jobName, 'my job');
    assert.equal(spec(["#SBATCH -J 'x y z'"]).jobName, 'x y z');
    assert.equal(spec(['#SBATCH --comment="has # hash"']).comment, 'has # hash');
  });
  it('honours backslash escapes', () => {
    assert.equal(spec(['#SBATCH --comment=say\\"hi\\"']).comment, 'say"hi"');
    assert.equal(spec(['#SBATCH --comment=a\\#b']).comment, 'a#b');

    // As in sbatch, an escaped blank still ends the word (the loop stops before the escape applies).
    const s = spec(['#SBATCH -J a\\ -N 2']);
    assert.deepEqual([s.jobName, s.nodes], ['a', { min: 2 }]);
  });
  it('rejects an unmatched quote with the line number', () => {
    rejectsLines(['#SBATCH -N 1', '#SBATCH --job-name="oops'], { field: 'script:line 3', reason: /unmatched/ });
  });
  it('takes a missing value from the next directive line (one argv, like sbatch)', () => {
    assert.equal(spec(['#SBATCH --job-name', '#SBATCH nextline']).jobName, 'nextline');
  });
  it('stops reading a line at an empty quoted word, like sbatch', () => {
    const s = spec(['#SBATCH -J x "" -N 3']);
    assert.equal(s.jobName, 'x');
    assert.equal(s.nodes, undefined);
  });
  it('reads #SBATCH immediately followed by an option', () => {
    assert.equal(spec(['#SBATCH--time=5']).timeLimitMinutes, 5);
  });
  it('refuses a word that is not an option (sbatch: invalid directive)', () => {
    rejectsLines(['#SBATCH -N 2 oops'], { field: 'script:line 2', reason: /invalid directive/ });
    rejectsLines(['#SBATCHED by me'], { field: 'script:line 2', reason: /invalid directive/ });
    rejectsLines(['#SBATCH -'], { reason: /invalid directive/ });
  });
  it('handles "--" as the end of options', () => {
    assert.deepEqual(spec(['#SBATCH -N 2 --']).nodes, { min: 2 });
    rejectsLines(['#SBATCH -- -N 2'], { reason: /invalid directive/ });
  });
  it('refuses heterogeneous jobs', () => {
    rejectsLines(['#SBATCH -N 1', '#SBATCH hetjob', '#SBATCH -N 2'], { field: 'script:line 3', reason: /heterogeneous jobs are not supported/ });
    rejectsLines(['#SBATCH packjob'], { reason: /heterogeneous/ });
    rejectsLines(['#SBATCH  HetJob'], { reason: /heterogeneous/ });
    rejectsLines(['#SBATCH -N 1 : -N 2'], { reason: /heterogeneous/ });
    rejectsLines(['#SBATCH -t :30'], { reason: /heterogeneous/ });
  });
  it('reports the line of the offending option', () => {
    rejectsLines(['', '# c', '#SBATCH -N 1', '#SBATCH --time=banana'], { field: 'script:line 5', option: '--time' });
  });
});

describe('getopt_long behaviour', () => {
  it('accepts short options with attached or separate values', () => {
    const s = spec(['#SBATCH -N2', '#SBATCH -n 16', '#SBATCH -c4', '#SBATCH -pdebug']);
    assert.deepEqual([s.nodes, s.ntasks, s.cpusPerTask, s.partition], [{ min: 2 }, 16, 4, 'debug']);
  });
  it('accepts clustered short flags', () => {
    const s = spec(['#SBATCH -HN2']);
    assert.equal(s.hold, true);
    assert.deepEqual(s.nodes, { min: 2 });
  });
  it('accepts long options with = or a separate value', () => {
    assert.equal(spec(['#SBATCH --partition debug']).partition, 'debug');
    assert.equal(spec(['#SBATCH --partition=gpu']).partition, 'gpu');
  });
  it('accepts unambiguous prefixes', () => {
    assert.equal(spec(['#SBATCH --partit=debug']).partition, 'debug');
    assert.equal(spec(['#SBATCH --ntasks-per-n=4']).ntasksPerNode, 4);
    assert.equal(spec(['#SBATCH --exclus']).exclusive, 'exclusive');
    assert.equal(spec(['#SBATCH --job=pref']).jobName, 'pref');
  });
  it('rejects ambiguous prefixes, naming the candidates', () => {
    rejectsLines(['#SBATCH --tim=10'], { option: '--tim', reason: /ambiguous.*--time .*--time-min/ });
    rejectsLines(['#SBATCH --mem-per=4G'], { reason: /ambiguous/ });
    rejectsLines(['#SBATCH --exclu'], { reason: /--exclude.*--exclusive/ });
  });
  it('treats --tasks-per-node as an alias of --ntasks-per-node', () => {
    assert.equal(spec(['#SBATCH --tasks-per-node=8']).ntasksPerNode, 8);
  });
  it('rejects unknown options naming them', () => {
    rejectsLines(['#SBATCH --frobnicate=3'], { field: 'script:line 2', option: '--frobnicate', reason: /unrecognized/ });
    rejectsLines(['#SBATCH -Z'], { option: '-Z', reason: /invalid option/ });
  });
  it('rejects a value given to a flag', () => {
    rejectsLines(['#SBATCH --hold=yes'], { option: '--hold', reason: /does not take a value/ });
  });
  it('rejects an option missing its value', () => {
    rejectsLines(['#SBATCH --job-name'], { option: '--job-name', reason: /requires a value/ });
    rejectsLines(['#SBATCH -N'], { option: '--nodes', reason: /requires a value/ });
    rejectsLines(['#SBATCH --job-name='], { option: '--job-name', reason: /requires a value/ });
  });
  it('takes the next word as the value even if it starts with a dash', () => {
    assert.equal(spec(['#SBATCH -J -N']).jobName, '-N');
  });
  it('does not let optional-argument options take a separate word', () => {
    assert.equal(spec(['#SBATCH --nice']).nice, 100);
    rejectsLines(['#SBATCH --nice 5'], { reason: /invalid directive/ });
    assert.equal(spec(['#SBATCH --exclusive -N 2']).exclusive, 'exclusive');
  });
});

describe('refused and unsupported options', () => {
  const refused: Array<[string, string]> = [
    ['--uid=0', '--uid'],
    ['--gid=0', '--gid'],
    ['-M other', '--clusters'],
    ['--clusters=other', '--clusters'],
    ['--test-only', '--test-only'],
    ['--wrap="hostname"', '--wrap'],
    ['--export-file=/etc/environment', '--export-file'],
    ['--get-user-env', '--get-user-env'],
    ['--wait', '--wait'],
    ['-W', '--wait'],
    ['--parsable', '--parsable'],
    ['--container=/tmp/bundle', '--container'],
    ['--x11', '--x11'],
    ['--prolog=/tmp/p.sh', '--prolog'],
    ['--epilog=/tmp/e.sh', '--epilog'],
  ];
  for (const [directive, option] of refused) {
    it(`refuses ${directive}`, () => {
      rejectsLines(['#SBATCH -N 1', `#SBATCH ${directive}`], { field: 'script:line 3', option, reason: /not allowed/ });
    });
  }
  it('refuses real sbatch options Archipelago does not carry', () => {
    rejectsLines(['#SBATCH --nodelist=n[1-4]'], { option: '--nodelist', reason: /not supported/ });
    rejectsLines(['#SBATCH -w n1'], { option: '--nodelist', reason: /not supported/ });
    rejectsLines(['#SBATCH --tmp=10G'], { option: '--tmp', reason: /not supported/ });
  });
  it('refuses --bb and --bbf saying there is no burst buffer and what to do instead', () => {
    rejectsLines(['#SBATCH --bb="capacity=1G"'], { option: '--bb', reason: /burst buffer.*stage files in the job script/ });
    rejectsLines(['#SBATCH --bbf=bb.conf'], { option: '--bbf', reason: /burst buffer/ });
  });
  it('supports --switches=count[@max-time]', () => {
    assert.deepEqual(spec(['#SBATCH --switches=1']).switches, { count: 1 });
    assert.deepEqual(spec(['#SBATCH --switches=2@10:00']).switches, { count: 2, waitMinutes: 10 });
    rejectsLines(['#SBATCH --switches=0'], { option: '--switches' });
    rejectsLines(['#SBATCH --switches=two'], { option: '--switches', reason: /count\[@max-time\]/ });
    rejectsLines(['#SBATCH --switches=1@UNLIMITED'], { option: '--switches', reason: /finite/ });
  });
  it('supports --threads-per-core', () => {
    assert.equal(spec(['#SBATCH --threads-per-core=1']).threadsPerCore, 1);
    rejectsLines(['#SBATCH --threads-per-core=0'], { option: '--threads-per-core' });
  });
  it('refuses them in options too', () => {
    rejects(() => parseSubmission(script(), { uid: 1000 }), { field: 'options.uid', option: '--uid', reason: /not allowed/ });
    rejects(() => parseSubmission(script(), { 'test-only': true }), { field: 'options.test-only', option: '--test-only' });
    // options.wrap is taken apart before parsing (core/sbatch/wrap.ts); reaching the parser, it is refused.
    rejects(() => parseSubmission(script(), { wrap: 'hostname' }), { option: '--wrap' });
  });
});

describe('counts', () => {
  it('parses node counts and ranges', () => {
    assert.deepEqual(spec(['#SBATCH --nodes=2-4']).nodes, { min: 2, max: 4 });
    assert.deepEqual(spec(['#SBATCH -N 3-3']).nodes, { min: 3, max: 3 });
    assert.deepEqual(spec(['#SBATCH -N 1k']).nodes, { min: 1024 });
  });
  it('rejects bad node counts', () => {
    rejectsLines(['#SBATCH -N 4-2'], { option: '--nodes', reason: /less than minimum/ });
    rejectsLines(['#SBATCH -N 0'], { option: '--nodes' });
    rejectsLines(['#SBATCH -N 200000'], { option: '--nodes', reason: /maximum/ });
    rejectsLines(['#SBATCH -N two'], { option: '--nodes' });
    rejectsLines(['#SBATCH -N 2-'], { option: '--nodes' });
  });
  it('parses tasks and cpus', () => {
    const s = spec(['#SBATCH --ntasks=128 --ntasks-per-node=32 --cpus-per-task=2']);
    assert.deepEqual([s.ntasks, s.ntasksPerNode, s.cpusPerTask], [128, 32, 2]);
  });
  it('rejects non-positive, signed, fractional and huge counts', () => {
    rejectsLines(['#SBATCH -n 0'], { option: '--ntasks' });
    rejectsLines(['#SBATCH -n -1'], { option: '--ntasks' });
    rejectsLines(['#SBATCH -n 1.5'], { option: '--ntasks' });
    rejectsLines(['#SBATCH -n 1e3'], { option: '--ntasks' });
    rejectsLines(['#SBATCH -n 1000001'], { option: '--ntasks', reason: /maximum/ });
    rejectsLines(['#SBATCH -c 4097'], { option: '--cpus-per-task', reason: /maximum/ });
  });
});

describe('time limits', () => {
  const cases: Array<[string, number | null]> = [
    ['30', 30],
    ['10:30', 11],
    ['10:00', 10],
    ['1:00:00', 60],
    ['1:00:01', 61],
    ['2-12', 3600],
    ['1-0:30', 1470],
    ['1-00:00:01', 1441],
    ['90', 90],
    ['UNLIMITED', null],
    ['infinite', null],
    ['-1', null],
    ['0', null],
    ['00:00:00', null],
  ];
  for (const [value, minutes] of cases) {
    it(`--time=${value} -> ${String(minutes)}`, () => {
      assert.equal(spec([`#SBATCH --time=${value}`]).timeLimitMinutes, minutes);
    });
  }
  it('rejects malformed durations', () => {
    for (const bad of ['1:2:3:4', 'abc', ':30', '5-', '1.5', '1-2-3', '1h', '-2', '1234567890']) {
      rejectsLines([`#SBATCH --time=${bad}`], { option: '--time', field: 'script:line 2' });
    }
  });
  it('parses --time-min and checks it against --time', () => {
    assert.equal(spec(['#SBATCH --time=2:00:00 --time-min=30']).timeMinMinutes, 30);
    rejectsLines(['#SBATCH --time=10 --time-min=30'], { option: '--time-min', reason: /exceeds/ });
    rejectsLines(['#SBATCH --time-min=0'], { option: '--time-min' });
  });
});

describe('memory', () => {
  const cases: Array<[string, number]> = [
    ['4G', 4096],
    ['4096', 4096],
    ['512M', 512],
    ['1T', 1048576],
    ['1536K', 2],
    ['100k', 1],
    ['8GB', 8192],
    ['2g', 2048],
    ['0', 0],
  ];
  for (const [value, mb] of cases) {
    it(`--mem=${value} -> ${mb} MiB`, () => {
      assert.equal(spec([`#SBATCH --mem=${value}`]).memPerNodeMb, mb);
    });
  }
  it('rejects malformed sizes', () => {
    for (const bad of ['1.5G', '-5', '4X', 'G', '10B', '']) {
      rejectsLines([`#SBATCH --mem=${bad}`], { option: '--mem' });
    }
  });
  it('parses per-cpu and per-gpu memory and refuses zero there', () => {
    assert.equal(spec(['#SBATCH --mem-per-cpu=2G']).memPerCpuMb, 2048);
    assert.equal(spec(['#SBATCH --mem-per-gpu=16G']).memPerGpuMb, 16384);
    rejectsLines(['#SBATCH --mem-per-cpu=0'], { option: '--mem-per-cpu' });
  });
  it('refuses two memory options, even across script and options (sbatch is fatal too)', () => {
    rejectsLines(['#SBATCH --mem=4G --mem-per-cpu=1G'], { option: '--mem-per-cpu', reason: /mutually exclusive/ });
    rejects(() => parseSubmission(script('#SBATCH --mem=4G'), { 'mem-per-gpu': '8G' }), {
      field: 'options.mem-per-gpu',
      reason: /mutually exclusive/,
    });
  });
});

describe('GPUs, GRES, constraints, licenses, exclusive', () => {
  it('keeps GPU and GRES requests as written', () => {
    const s = spec([
      '#SBATCH --gres=gpu:a100:2',
      '#SBATCH -G a100:4',
      '#SBATCH --gpus-per-node=2',
      '#SBATCH --gpus-per-task=1',
      '#SBATCH -C "intel&ib"',
      '#SBATCH -L matlab:2,ansys',
    ]);
    assert.deepEqual(
      [s.gres, s.gpus, s.gpusPerNode, s.gpusPerTask, s.constraint, s.licenses],
      ['gpu:a100:2', 'a100:4', '2', '1', 'intel&ib', 'matlab:2,ansys'],
    );
  });
  it('rejects bad GPU counts', () => {
    rejectsLines(['#SBATCH --gpus=0'], { option: '--gpus' });
    rejectsLines(['#SBATCH --gpus-per-node=two'], { option: '--gpus-per-node' });
  });
  it('normalizes --exclusive forms', () => {
    assert.equal(spec(['#SBATCH --exclusive']).exclusive, 'exclusive');
    assert.equal(spec(['#SBATCH --exclusive=user']).exclusive, 'user');
    assert.equal(spec(['#SBATCH --exclusive=MCS']).exclusive, 'mcs');
    rejectsLines(['#SBATCH --exclusive=bogus'], { option: '--exclusive' });
    rejectsLines(['#SBATCH --exclusive=oversubscribe'], { option: '--exclusive', reason: /not supported/ });
  });
  it('lets options set or clear --exclusive', () => {
    assert.equal(spec([], { exclusive: true }).exclusive, 'exclusive');
    assert.equal(spec([], { exclusive: 'user' }).exclusive, 'user');
    assert.equal(spec(['#SBATCH --exclusive'], { exclusive: false }).exclusive, undefined);
  });
});

describe('job arrays', () => {
  it('expands ranges, steps and lists', () => {
    assert.equal(spec(['#SBATCH --array=0-15']).array?.taskIds.length, 16);
    assert.deepEqual(spec(['#SBATCH -a 0-15:4']).array?.taskIds, [0, 4, 8, 12]);
    assert.deepEqual(spec(['#SBATCH --array=1,3,5-7']).array?.taskIds, [1, 3, 5, 6, 7]);
    assert.deepEqual(spec(['#SBATCH --array=5-7,1-3,2']).array?.taskIds, [1, 2, 3, 5, 6, 7]);
    assert.deepEqual(spec(['#SBATCH --array=0-4,3-6,6']).array?.taskIds, [0, 1, 2, 3, 4, 5, 6], 'overlaps count once');
    assert.equal(spec(['#SBATCH --array=0-9999,0-9999']).array?.taskIds.length, 10000, 'the limit counts distinct tasks');
  });
  it('reads the throttle', () => {
    assert.deepEqual(spec(['#SBATCH --array=0-9%2']).array, {
      expression: '0-9%2',
      taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      maxRunning: 2,
    });
  });
  it('enforces the task and index limits', () => {
    rejectsLines(['#SBATCH --array=0-10000'], { option: '--array', reason: /more than 10000/ });
    rejectsLines(['#SBATCH --array=0-9999,10000'], { option: '--array', reason: /more than 10000/ });
    rejectsLines(['#SBATCH --array=5000-10000,0-4999'], { option: '--array', reason: /more than 10000/ });
    rejectsLines(['#SBATCH --array=4000001'], { option: '--array', reason: /maximum/ });
    assert.equal(spec(['#SBATCH --array=0-4000000:1000']).array?.taskIds.length, 4001);
  });
  it('rejects malformed expressions', () => {
    for (const bad of ['1-', 'a', '5-3', '1-4:0', '%2', '1,,2', '0-3%0', '0-3%', '1:2', '-1']) {
      rejectsLines([`#SBATCH --array=${bad}`], { option: '--array' });
    }
  });
});

describe('dependencies', () => {
  it('parses one type with several jobs', () => {
    assert.deepEqual(spec(['#SBATCH --dependency=afterok:12:13']).dependency, {
      combine: 'all',
      clauses: [{ kind: 'afterok', targets: [{ jobId: '12' }, { jobId: '13' }] }],
    });
  });
  it('parses several clauses joined by ,', () => {
    const d = spec(['#SBATCH -d afterany:12,afterok:14']).dependency;
    assert.equal(d?.combine, 'all');
    assert.deepEqual(
      d?.clauses.map((c) => c.kind),
      ['afterany', 'afterok'],
    );
  });
  it('parses ? as any-of', () => {
    const d = spec(['#SBATCH -d afterok:1?afternotok:2']).dependency;
    assert.equal(d?.combine, 'any');
    assert.equal(d?.clauses.length, 2);
  });
  it('parses after with a delay, singleton, array tasks and case', () => {
    assert.deepEqual(spec(['#SBATCH -d after:12+5']).dependency?.clauses[0].targets, [{ jobId: '12', delayMinutes: 5 }]);
    assert.deepEqual(spec(['#SBATCH -d singleton']).dependency, { combine: 'all', clauses: [{ kind: 'singleton', targets: [] }] });
    assert.deepEqual(spec(['#SBATCH -d afterok:12_3:12_*']).dependency?.clauses[0].targets, [{ jobId: '12_3' }, { jobId: '12_*' }]);
    assert.equal(spec(['#SBATCH -d AfterOK:5']).dependency?.clauses[0].kind, 'afterok');
  });
  it('reads the old bare-id form as afterany', () => {
    assert.deepEqual(spec(['#SBATCH -d 12,13']).dependency, {
      combine: 'all',
      clauses: [{ kind: 'afterany', targets: [{ jobId: '12' }, { jobId: '13' }] }],
    });
  });
  it('rejects mixing , and ?', () => {
    rejectsLines(['#SBATCH -d afterok:1,afterok:2?afterok:3'], { option: '--dependency', reason: /mix/ });
  });
  it('rejects malformed dependencies', () => {
    for (const bad of ['afterok:abc', 'afterok:0', 'bogus:12', 'afterok:12+5', 'afterok:', 'afterok:12:', 'expand:5', '12?13', 'after:12+0']) {
      rejectsLines([`#SBATCH --dependency=${bad}`], { option: '--dependency' });
    }
  });
});

describe('scheduling and notification options', () => {
  it('parses hold and begin', () => {
    const s = spec(['#SBATCH -H', '#SBATCH --begin=now+1hour']);
    assert.equal(s.hold, true);
    assert.equal(s.begin, 'now+1hour');
    assert.equal(spec(['#SBATCH -b 2026-12-01T10:00']).begin, '2026-12-01T10:00');
    assert.equal(spec(['#SBATCH --begin=16:00']).begin, '16:00');
    assert.equal(spec(['#SBATCH --begin=tomorrow']).begin, 'tomorrow');
    rejectsLines(['#SBATCH --begin=whenever'], { option: '--begin' });
    rejectsLines(['#SBATCH --begin=2026-13-01'], { option: '--begin' });
  });
  it('parses nice', () => {
    assert.equal(spec(['#SBATCH --nice=-5']).nice, -5);
    assert.equal(spec(['#SBATCH --nice=10']).nice, 10);
    assert.equal(spec([], { nice: 7 }).nice, 7);
    assert.equal(spec([], { nice: true }).nice, 100);
    rejectsLines(['#SBATCH --nice=high'], { option: '--nice' });
  });
  it('parses requeue / no-requeue with later winning', () => {
    assert.equal(spec(['#SBATCH --requeue']).requeue, true);
    assert.equal(spec(['#SBATCH --no-requeue']).requeue, false);
    assert.equal(spec(['#SBATCH --requeue', '#SBATCH --no-requeue']).requeue, false);
    assert.equal(spec(['#SBATCH --requeue'], { requeue: false }).requeue, false);
    assert.equal(spec(['#SBATCH --no-requeue'], { 'no-requeue': false }).requeue, true);
  });
  it('parses --signal', () => {
    assert.equal(spec(['#SBATCH --signal=B:USR1@60']).signal, 'B:USR1@60');
    assert.equal(spec(['#SBATCH --signal=SIGTERM']).signal, 'SIGTERM');
    assert.equal(spec(['#SBATCH --signal=10@120']).signal, '10@120');
    assert.equal(spec(['#SBATCH --signal=R:usr2']).signal, 'R:usr2');
    for (const bad of ['FOO', 'USR1@70000', '0', 'X:USR1', 'USR1@']) {
      rejectsLines([`#SBATCH --signal=${bad}`], { option: '--signal' });
    }
  });
  it('parses and validates --mail-type', () => {
    assert.deepEqual(spec(['#SBATCH --mail-type=BEGIN,END,FAIL']).mailType, ['BEGIN', 'END', 'FAIL']);
    assert.deepEqual(spec(['#SBATCH --mail-type=all']).mailType, ['ALL']);
    assert.deepEqual(spec(['#SBATCH --mail-type=TIME_LIMIT_90,ARRAY_TASKS']).mailType, ['TIME_LIMIT_90', 'ARRAY_TASKS']);
    assert.deepEqual(spec(['#SBATCH --mail-type=NONE']).mailType, ['NONE']);
    rejectsLines(['#SBATCH --mail-type=BEGIN,FIAL'], { option: '--mail-type', reason: /FIAL/ });
    rejectsLines(['#SBATCH --mail-type=NONE,END'], { option: '--mail-type' });
  });
  it('drops --mail-type words with blanks around them, as sbatch does (native: "END, FAIL" → END, "END ,FAIL" → FAIL)', () => {
    assert.deepEqual(spec(['#SBATCH --mail-type="END, FAIL"']).mailType, ['END']);
    assert.deepEqual(spec(['#SBATCH --mail-type="END ,FAIL"']).mailType, ['FAIL']);
    assert.deepEqual(spec([], { 'mail-type': 'BEGIN, END' }).mailType, ['BEGIN']);
    rejectsLines(['#SBATCH --mail-type=" END"'], { option: '--mail-type', reason: /blanks/ });
    rejectsLines(['#SBATCH --mail-type="END, FIAL"'], { option: '--mail-type', reason: /FIAL/ });
  });
  it('accumulates --mail-type like sbatch', () => {
    assert.deepEqual(spec(['#SBATCH --mail-type=BEGIN'], { 'mail-type': 'END' }).mailType, ['BEGIN', 'END']);
  });
  it('parses --mail-user', () => {
    assert.equal(spec(['#SBATCH --mail-user=alice@example.org']).mailUser, 'alice@example.org');
  });
});

describe('I/O, working directory and environment', () => {
  it('keeps file patterns as written', () => {
    const s = spec(
      ['#SBATCH -o slurm-%j.out', '#SBATCH --error=logs/%x-%A_%a.err', '#SBATCH -i in.txt', '#SBATCH -D /scratch/alice/run 1'].map((l) =>
        l.replace('run 1', '"run 1"'),
      ),
    );
    assert.deepEqual([s.output, s.error, s.input, s.chdir], ['slurm-%j.out', 'logs/%x-%A_%a.err', 'in.txt', '/scratch/alice/run 1']);
  });
  it('parses --open-mode', () => {
    assert.equal(spec(['#SBATCH --open-mode=append']).openMode, 'append');
    assert.equal(spec(['#SBATCH --open-mode=t']).openMode, 'truncate');
    rejectsLines(['#SBATCH --open-mode=overwrite'], { option: '--open-mode' });
  });
  it('parses --export', () => {
    assert.deepEqual(spec(['#SBATCH --export=ALL']).export, { mode: 'ALL', variables: {} });
    assert.deepEqual(spec(['#SBATCH --export=NONE']).export, { mode: 'NONE', variables: {} });
    assert.deepEqual(spec(['#SBATCH --export=NIL']).export, { mode: 'NIL', variables: {} });
    assert.deepEqual(spec(['#SBATCH --export=ALL,FOO=bar']).export, { mode: 'ALL', variables: { FOO: 'bar' } });
    assert.deepEqual(spec(['#SBATCH --export=FOO,BAR=1']).export, { mode: 'NONE', variables: { FOO: null, BAR: '1' } });
    assert.deepEqual(spec(['#SBATCH --export=\'"LIST=a,b"\',X=']).export, { mode: 'NONE', variables: { LIST: 'a,b', X: '' } });
  });
  it('rejects bad --export lists', () => {
    rejectsLines(['#SBATCH --export=1X=2'], { option: '--export' });
    rejectsLines(['#SBATCH --export=FOO,,BAR'], { option: '--export' });
    rejectsLines(['#SBATCH --export=ALL,NONE'], { option: '--export' });
    rejectsLines(['#SBATCH --export=NONE,ALL'], { option: '--export' });
  });
});

describe('names and control characters', () => {
  it('keeps names and comments', () => {
    const s = spec(['#SBATCH -J train-resnet -A proj42 -q high --reservation=maint --comment="run #3"', '#SBATCH -p gpu,debug']);
    assert.deepEqual([s.jobName, s.account, s.qos, s.reservation, s.comment, s.partition], ['train-resnet', 'proj42', 'high', 'maint', 'run #3', 'gpu,debug']);
  });
  it('refuses spaces where SLURM names cannot have them', () => {
    rejectsLines(['#SBATCH -p "de bug"'], { option: '--partition' });
    rejectsLines(['#SBATCH -A "a b"'], { option: '--account' });
  });
  it('refuses control characters in values', () => {
    rejects(() => parseSubmission(script(), { 'job-name': 'a\nb' }), { field: 'options.job-name', option: '--job-name', reason: /control/ });
    rejects(() => parseSubmission(script(), { comment: 'x\u0000y' }), { field: 'options.comment', reason: /control/ });
    rejects(() => parseSubmission(script(), { output: 'out\t%j' }), { field: 'options.output', reason: /control/ });
    rejectsLines(['#SBATCH -J "a\rb"'], { field: 'script:line 2', reason: /control/ });
    rejectsLines(['#SBATCH -J "\u001b[31mred"'], { reason: /control/ });
  });
});

describe('the options object', () => {
  it('accepts dashed and underscored keys, strings and numbers', () => {
    const s = spec([], { ntasks_per_node: 4, 'cpus-per-task': '2', nodes: 2, time: 30, mem: 4096, partition: 'debug' });
    assert.deepEqual([s.ntasksPerNode, s.cpusPerTask, s.nodes, s.timeLimitMinutes, s.memPerNodeMb, s.partition], [4, 2, { min: 2 }, 30, 4096, 'debug']);
  });
  it('overrides directives, like command-line flags', () => {
    const s = spec(['#SBATCH -N 2 --time=10 -J script-name'], { nodes: '4-8', time: '1:00:00' });
    assert.deepEqual(s.nodes, { min: 4, max: 8 });
    assert.equal(s.timeLimitMinutes, 60);
    assert.equal(s.jobName, 'script-name');
  });
  it('sets and clears hold', () => {
    assert.equal(spec([], { hold: true }).hold, true);
    assert.equal(spec(['#SBATCH -H'], { hold: false }).hold, undefined);
  });
  it('reports the option key as the field', () => {
    rejects(() => parseSubmission(script(), { time: 'soon' }), { field: 'options.time', option: '--time' });
    rejects(() => parseSubmission(script(), { ntasks_per_node: 0 }), { field: 'options.ntasks_per_node', option: '--ntasks-per-node' });
  });
  it('rejects unknown keys, short letters and prefixes', () => {
    rejects(() => parseSubmission(script(), { frobnicate: 1 }), { field: 'options.frobnicate', reason: /unknown/ });
    rejects(() => parseSubmission(script(), { N: 2 }), { field: 'options.N', reason: /unknown/ });
    rejects(() => parseSubmission(script(), { partit: 'debug' }), { field: 'options.partit', reason: /unknown/ });
  });
  it('rejects the same option twice', () => {
    rejects(() => parseSubmission(script(), { 'ntasks-per-node': 2, ntasks_per_node: 4 }), { reason: /twice/ });
    rejects(() => parseSubmission(script(), { 'tasks-per-node': 2, 'ntasks-per-node': 4 }), { reason: /twice/ });
  });
  it('rejects wrong value types', () => {
    rejects(() => parseSubmission(script(), { time: true }), { field: 'options.time', reason: /not a boolean/ });
    rejects(() => parseSubmission(script(), { hold: 'yes' }), { field: 'options.hold', reason: /true or false/ });
    rejects(() => parseSubmission(script(), { nodes: null }), { field: 'options.nodes' });
    rejects(() => parseSubmission(script(), { nodes: [2] }), { field: 'options.nodes' });
    rejects(() => parseSubmission(script(), { nodes: Number.NaN }), { field: 'options.nodes' });
    rejects(() => parseSubmission(script(), [] as unknown as Record<string, unknown>), { field: 'options' });
  });
  it('skips undefined values', () => {
    assert.deepEqual(spec([], { nodes: undefined }), {});
  });
});

describe('SbatchParseError', () => {
  it('is an Error whose message carries field, option and reason', () => {
    try {
      parseSubmission(script('#SBATCH --uid=0'));
      assert.fail('expected a throw');
    } catch (err) {
      assert.ok(err instanceof Error);
      assert.ok(err instanceof SbatchParseError);
      assert.equal(err.name, 'SbatchParseError');
      assert.equal(err.field, 'script:line 2');
      assert.equal(err.option, '--uid');
      assert.match(err.message, /^script:line 2: --uid: not allowed/);
    }
  });
});

describe('a realistic script', () => {
  it('normalizes a typical GPU training job', () => {
    const body = [
      '#!/bin/bash -l',
      '#SBATCH --job-name=train',
      '#SBATCH --partition=gpu',
      '#SBATCH --nodes=2',
      '#SBATCH --ntasks-per-node=4',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --gpus-per-node=a100:4',
      '#SBATCH --mem=0',
      '#SBATCH --time=2-00:00:00',
      '#SBATCH --output=logs/%x-%j.out',
      '#SBATCH --mail-type=END,FAIL',
      '#SBATCH --mail-user=alice@example.org',
      '#SBATCH --export=ALL,NCCL_DEBUG=INFO',
      '',
      'module load cuda',
      'srun python train.py',
      '',
    ].join('\n');
    assert.deepEqual(parseSubmission(body, { account: 'ml' }).spec, {
      jobName: 'train',
      partition: 'gpu',
      nodes: { min: 2 },
      ntasksPerNode: 4,
      cpusPerTask: 8,
      gpusPerNode: 'a100:4',
      memPerNodeMb: 0,
      timeLimitMinutes: 2880,
      output: 'logs/%x-%j.out',
      mailType: ['END', 'FAIL'],
      mailUser: 'alice@example.org',
      export: { mode: 'ALL', variables: { NCCL_DEBUG: 'INFO' } },
      account: 'ml',
    });
  });
});
