import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  FilenamePatternError,
  MAX_PAD_WIDTH,
  SLURM_NO_VAL,
  archipelagoOutputPattern,
  slurmDefaultOutputPattern,
  expandFilenamePattern,
  jobFilePath,
  outputFiles,
  pinArrayJobId,
  resolveJobFilePath,
  type FilenameContext,
} from '../../src/core/jobs/output-path';
import type { JobSpec } from '../../src/core/sbatch/job-spec';

const single: FilenameContext = { jobId: 128, jobName: 'train', user: 'alice', nodeName: 'node07.cluster.local' };
const task: FilenameContext = { jobId: 1042, arrayJobId: 1035, arrayTaskId: 7, jobName: 'sweep', user: 'bob', nodeName: 'gpu3' };

const x = (pattern: string, ctx: FilenameContext = single): string => expandFilenamePattern(pattern, ctx);

describe('expandFilenamePattern: the symbols', () => {
  it('expands each symbol for a plain batch job', () => {
    assert.equal(x('%j'), '128');
    assert.equal(x('%J'), '128'); // batch step: no ".batch" suffix in 22.05
    assert.equal(x('%A'), '128'); // not an array: the job id
    assert.equal(x('%a'), String(SLURM_NO_VAL)); // not an array: NO_VAL
    assert.equal(x('%a'), '4294967294');
    assert.equal(x('%s'), 'batch');
    assert.equal(x('%t'), '0');
    assert.equal(x('%n'), '0');
    assert.equal(x('%N'), 'node07'); // short host name
    assert.equal(x('%u'), 'alice');
    assert.equal(x('%x'), 'train');
    assert.equal(x('%%'), '%');
  });

  it('expands each symbol for an array task', () => {
    assert.equal(x('%A_%a', task), '1035_7');
    assert.equal(x('%j', task), '1042');
    assert.equal(x('%J', task), '1042');
    assert.equal(x('%N', task), 'gpu3');
    assert.equal(x('%x-%u', task), 'sweep-bob');
    assert.equal(x('%a', { ...task, arrayTaskId: 0 }), '0');
  });

  it('combines literal text and symbols', () => {
    assert.equal(x('job%J.out'), 'job128.out');
    assert.equal(x('logs/%x-%j.out'), 'logs/train-128.out');
    assert.equal(x('slurm-%A_%a.out', task), 'slurm-1035_7.out');
    assert.equal(x('%u/%x/%j/%s.log'), 'alice/train/128/batch.log');
    assert.equal(x('no-symbols.txt'), 'no-symbols.txt');
    assert.equal(x('%j%j%j'), '128128128');
  });
});

describe('expandFilenamePattern: zero padding', () => {
  it('pads numeric values (man page examples)', () => {
    assert.equal(x('job%4j.out'), 'job0128.out');
    assert.equal(x('job%j-%2t.out'), 'job128-00.out');
    assert.equal(x('%4a', task), '0007');
    assert.equal(x('%6A', task), '001035');
    assert.equal(x('%3n'), '000');
    assert.equal(x('%5J'), '00128');
    assert.equal(x('%2j'), '128'); // narrower than the value: unchanged
    assert.equal(x('%0j'), '128');
    assert.equal(x('%1j'), '128');
  });

  it('caps the width at 10 digits', () => {
    assert.equal(MAX_PAD_WIDTH, 10);
    assert.equal(x('%10j'), '0000000128');
    assert.equal(x('%11j'), '0000000128');
    assert.equal(x('%99j'), '0000000128');
    assert.equal(x('%012j'), '0000000128');
    assert.equal(x('%999999999999999999999999j'), '0000000128');
    assert.equal(x('%4a'), '4294967294'); // longer than the width: never truncated
  });

  it('ignores the width for non-numeric symbols', () => {
    assert.equal(x('%8N'), 'node07');
    assert.equal(x('%8u'), 'alice');
    assert.equal(x('%8x'), 'train');
    assert.equal(x('%8s'), 'batch');
    assert.equal(x('a%3ub'), 'aaliceb');
  });
});

describe('expandFilenamePattern: slurmstepd edge cases', () => {
  it('handles %% sequences', () => {
    assert.equal(x('100%%'), '100%');
    assert.equal(x('%%j'), '%j');
    assert.equal(x('%%%j'), '%128');
    assert.equal(x('%%%%'), '%%');
    assert.equal(x('a%%b%%c'), 'a%b%c');
  });

  it('leaves unknown symbols as written', () => {
    assert.equal(x('%z'), '%z');
    assert.equal(x('%Z-%j'), '%Z-128');
    assert.equal(x('a%.b'), 'a%.b');
    assert.equal(x('%-%j'), '%-128');
    assert.equal(x('%q%j'), '%q128');
  });

  it('keeps a trailing %', () => {
    assert.equal(x('out%'), 'out%');
    assert.equal(x('%'), '%');
    assert.equal(x('%j%'), '128%');
  });

  it('reproduces slurmstepd with a width before an unknown letter or at the end', () => {
    assert.equal(x('%4z'), '4z');
    assert.equal(x('a%12z'), 'a2z');
    assert.equal(x('a%4'), 'a4');
    assert.equal(x('a%12'), 'a2');
    assert.equal(x('%4%j'), '4128');
  });

  it('does not re-expand values', () => {
    assert.equal(x('%x', { ...single, jobName: '%j%u' }), '%j%u');
    assert.equal(x('%u', { ...single, user: '%x' }), '%x');
  });

  it('does not expand anything when the pattern holds a backslash', () => {
    assert.equal(x('out\\%j.txt'), 'out%j.txt');
    assert.equal(x('\\%j'), '%j');
    assert.equal(x('a\\\\b%j'), 'a\\b%j'); // "\\" keeps one backslash
    assert.equal(x('%j.out\\'), '%j.out');
    assert.equal(x('%%\\'), '%%');
    assert.equal(x('/abs/%x\\'), '/abs/%x');
  });

  it('sends "task N only" patterns to /dev/null, except task 0 (the batch script)', () => {
    assert.equal(x('3'), '/dev/null');
    assert.equal(x('1'), '/dev/null');
    assert.equal(x(' 12'), '/dev/null');
    assert.equal(x('+2'), '/dev/null');
    assert.equal(x('0'), '0');
    assert.equal(x('000'), '000');
    assert.equal(x('-1'), '-1');
    assert.equal(x('4294967296'), '4294967296'); // (int) cast gives 0: task 0
    assert.equal(x('4294967297'), '/dev/null'); // (int) cast gives 1
    assert.equal(x('2147483648'), '2147483648'); // negative int: not a task number
    assert.equal(x('99999999999999999999999'), '99999999999999999999999'); // strtoul saturates
    assert.equal(x('3a'), '3a');
  });

  it('refuses bad input', () => {
    assert.throws(() => x(''), FilenamePatternError);
    assert.throws(() => x('%N', { ...single, nodeName: undefined }), FilenamePatternError);
    assert.throws(() => x('%N', { ...single, nodeName: '' }), FilenamePatternError);
    assert.throws(() => x('%j', { ...single, jobId: -1 }), FilenamePatternError);
    assert.throws(() => x('%j', { ...single, jobId: 1.5 }), FilenamePatternError);
    assert.throws(() => x('%j', { ...single, jobId: 2 ** 32 }), FilenamePatternError);
    assert.throws(() => x('%a', { ...single, arrayTaskId: 3 }), FilenamePatternError);
    assert.throws(() => x('%a', { ...single, arrayJobId: 3 }), FilenamePatternError);
    assert.throws(() => x('%j', { ...single, user: '' }), FilenamePatternError);
    // %N is only needed when used.
    assert.equal(x('%j', { ...single, nodeName: undefined }), '128');
  });
});

describe('pinArrayJobId: one %A for the parts of a split array', () => {
  it('writes %A (with its width) as the array id and leaves everything else for SLURM', () => {
    assert.equal(pinArrayJobId('sweep-%A_%a.out', 812), 'sweep-812_%a.out');
    assert.equal(pinArrayJobId('%6A/%j-%x-%%A.log', 812), '000812/%j-%x-%%A.log');
    assert.equal(pinArrayJobId('%12A', 7), '0000000007', 'width capped at 10 as slurmstepd does');
    assert.equal(pinArrayJobId('out\\-%A', 7), 'out\\-%A', 'a backslash turns off expansion: nothing to pin');
    assert.equal(pinArrayJobId('plain.out', 7), 'plain.out');
  });
  it('then expands as SLURM does to what the unpinned pattern gives with the array id', () => {
    const part: FilenameContext = { jobId: 9001, arrayJobId: 9000, arrayTaskId: 3, jobName: 'j', user: 'alice' };
    const whole: FilenameContext = { ...part, arrayJobId: 812 };
    for (const pattern of ['sweep-%A_%a.out', '%4A-%%A-%j', 'x%A%A']) {
      assert.equal(expandFilenamePattern(pinArrayJobId(pattern, 812), part), expandFilenamePattern(pattern, whole), pattern);
    }
  });
});

describe('default output patterns', () => {
  it("SLURM's matches sbatch", () => {
    assert.equal(slurmDefaultOutputPattern(false), 'slurm-%j.out');
    assert.equal(slurmDefaultOutputPattern(true), 'slurm-%A_%a.out');
  });
  it("Archipelago's names the file by our job id and SLURM's, one per task for an array", () => {
    assert.equal(archipelagoOutputPattern('42', false), 'archipelago-42-%j.out');
    assert.equal(archipelagoOutputPattern('42', true), 'archipelago-42-%A_%a.out');
    assert.equal(jobFilePath(archipelagoOutputPattern('42', false), '/home/alice', single), '/home/alice/archipelago-42-128.out');
    assert.equal(jobFilePath(archipelagoOutputPattern('42', true), '/home/alice', task), '/home/alice/archipelago-42-1035_7.out');
  });
  it('two islands that gave the same SLURM id write two files', () => {
    // Job 42 on one island and job 43 on another both got SLURM id 128.
    const here = outputFiles({}, single, '/home/alice', archipelagoOutputPattern('42', false)).stdout;
    const there = outputFiles({}, single, '/home/alice', archipelagoOutputPattern('43', false)).stdout;
    assert.notEqual(here, there);
  });
  it('refuses what is not a job id of ours', () => {
    for (const bad of ['', '4/2', '../x', '1'.repeat(19), '%j']) assert.throws(() => archipelagoOutputPattern(bad, false), FilenamePatternError, bad);
  });
});

describe('resolveJobFilePath', () => {
  it('joins relative names to the working directory', () => {
    assert.equal(resolveJobFilePath('slurm-128.out', '/home/alice'), '/home/alice/slurm-128.out');
    assert.equal(resolveJobFilePath('slurm-128.out', '/home/alice/'), '/home/alice/slurm-128.out');
    assert.equal(resolveJobFilePath('logs/a.out', '/scratch/alice/run'), '/scratch/alice/run/logs/a.out');
    assert.equal(resolveJobFilePath('/tmp/a.out', '/home/alice'), '/tmp/a.out');
    assert.equal(resolveJobFilePath('/dev/null', '/home/alice'), '/dev/null');
    assert.equal(resolveJobFilePath('a\\b', '/home/alice'), '/home/alice/a\\b'); // already expanded: plain join
  });

  it('does not normalize (SLURM opens the path as written)', () => {
    assert.equal(resolveJobFilePath('../bob/x', '/home/alice'), '/home/alice/../bob/x');
    assert.equal(resolveJobFilePath('./x', '/home/alice'), '/home/alice/./x');
  });

  it('refuses a relative working directory or an empty name', () => {
    assert.throws(() => resolveJobFilePath('x', 'home/alice'), FilenamePatternError);
    assert.throws(() => resolveJobFilePath('x', ''), FilenamePatternError);
    assert.throws(() => resolveJobFilePath('', '/home/alice'), FilenamePatternError);
  });
});

describe('jobFilePath', () => {
  it('expands and joins', () => {
    assert.equal(jobFilePath('slurm-%j.out', '/home/alice', single), '/home/alice/slurm-128.out');
    assert.equal(jobFilePath('/scratch/%u/%x-%4j.log', '/home/alice', single), '/scratch/alice/train-0128.log');
    assert.equal(jobFilePath('3', '/home/alice', single), '/dev/null');
  });

  it('keeps the symbols without a context (template)', () => {
    assert.equal(jobFilePath('slurm-%j.out', '/home/alice'), '/home/alice/slurm-%j.out');
    assert.equal(jobFilePath('/abs/%x', '/home/alice'), '/abs/%x');
  });

  it('glues a relative escaped pattern to the directory without "/" like slurmstepd', () => {
    assert.equal(jobFilePath('out\\.log', '/home/alice', single), '/home/aliceout.log');
    assert.equal(jobFilePath('2/x\\', '/home/alice', single), '/home/alice2/x');
    assert.equal(jobFilePath('\\/../bob/x', '/home/alice', single), '/home/alice/../bob/x');
    assert.equal(jobFilePath('out\\.log', '/home/alice/', single), '/home/alice/out.log');
    assert.equal(jobFilePath('/abs/out\\%j', '/home/alice', single), '/abs/out%j');
  });
});

describe('outputFiles', () => {
  const spec = (s: Partial<JobSpec>): Partial<JobSpec> => s;

  it('uses the defaults', () => {
    assert.deepEqual(outputFiles(spec({}), single, '/home/alice'), {
      stdout: '/home/alice/slurm-128.out',
      stderr: '/home/alice/slurm-128.out',
    });
    const arraySpec = spec({ array: { expression: '0-9', taskIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } });
    assert.deepEqual(outputFiles(arraySpec, task, '/scratch/bob'), {
      stdout: '/scratch/bob/slurm-1035_7.out',
      stderr: '/scratch/bob/slurm-1035_7.out',
    });
  });

  it("the pattern a job was submitted with in place of --output wins over SLURM's default, never over the user's", () => {
    assert.deepEqual(outputFiles(spec({}), single, '/home/alice', 'archipelago-42-%j.out'), {
      stdout: '/home/alice/archipelago-42-128.out',
      stderr: '/home/alice/archipelago-42-128.out',
    });
    assert.equal(outputFiles(spec({ output: 'mine-%j.out' }), single, '/home/alice', 'archipelago-42-%j.out').stdout, '/home/alice/mine-128.out');
    assert.deepEqual(outputFiles(spec({ error: 'err.txt' }), single, '/home/alice', 'archipelago-42-%j.out'), {
      stdout: '/home/alice/archipelago-42-128.out',
      stderr: '/home/alice/err.txt',
    });
    assert.equal(outputFiles(spec({}), single, '/home/alice', null).stdout, '/home/alice/slurm-128.out', "dispatched before: SLURM's default");
  });

  it('stderr follows stdout unless --error is given', () => {
    assert.deepEqual(outputFiles(spec({ output: 'out-%j.txt' }), single, '/home/alice'), {
      stdout: '/home/alice/out-128.txt',
      stderr: '/home/alice/out-128.txt',
    });
    assert.deepEqual(outputFiles(spec({ output: 'o-%j', error: '/tmp/e-%x-%j' }), single, '/home/alice'), {
      stdout: '/home/alice/o-128',
      stderr: '/tmp/e-train-128',
    });
    assert.deepEqual(outputFiles(spec({ error: 'err.txt' }), single, '/home/alice'), {
      stdout: '/home/alice/slurm-128.out',
      stderr: '/home/alice/err.txt',
    });
  });

  it('array task without --array in the spec still uses the array default', () => {
    assert.equal(outputFiles(spec({}), task, '/w').stdout, '/w/slurm-1035_7.out');
  });

  it('needs the task for an array job', () => {
    const arraySpec = spec({ array: { expression: '1-3', taskIds: [1, 2, 3] } });
    assert.throws(() => outputFiles(arraySpec, single, '/home/alice'), FilenamePatternError);
  });
});
