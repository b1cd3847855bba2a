import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  JOB_NAME_MAX_LENGTH,
  allowedRootsFor,
  checkFilePatternWithinRoots,
  checkPathWithinRoots,
  validateJobName,
  type PathCheck,
} from '../../src/core/jobs/path-policy';
import { jobFilePath } from '../../src/core/jobs/output-path';

const TEMPLATES = ['/home/{user}', '/scratch/{user}'];
const ROOTS = allowedRootsFor('alice', TEMPLATES);

function ok(r: PathCheck, normalized: string): void {
  assert.deepEqual(r, { ok: true, normalized });
}
function refused(r: PathCheck, reasonIncludes?: string): void {
  assert.equal(r.ok, false, `expected refusal, got ${JSON.stringify(r)}`);
  if (!r.ok) {
    assert.ok(r.reason.length > 0);
    if (reasonIncludes) assert.ok(r.reason.includes(reasonIncludes), r.reason);
  }
}

describe('allowedRootsFor', () => {
  it('expands {user} in every template', () => {
    assert.deepEqual(ROOTS, ['/home/alice', '/scratch/alice']);
    assert.deepEqual(allowedRootsFor('bob', ['/home/{user}', '/data/{user}/{user}']), ['/home/bob', '/data/bob/bob']);
    assert.deepEqual(allowedRootsFor('alice', ['/shared/tmp']), ['/shared/tmp']);
    assert.deepEqual(allowedRootsFor('alice', []), []);
  });

  it('normalizes and de-duplicates', () => {
    assert.deepEqual(allowedRootsFor('alice', ['/home/{user}/', '//home//{user}', '/home/./{user}']), ['/home/alice']);
  });

  it('accepts ordinary POSIX user names', () => {
    for (const user of ['alice', 'a', '_svc', 'john.doe', 'x-y_z9', 'host$', 'A'.repeat(32)]) {
      assert.doesNotThrow(() => allowedRootsFor(user, TEMPLATES), user);
    }
  });

  it('refuses user names that could move the root', () => {
    for (const user of ['', '.', '..', 'a/b', '../bob', 'al ice', 'alice\n', 'al\u0000ice', '-rf', '9lives', 'A'.repeat(33), '{user}']) {
      assert.throws(() => allowedRootsFor(user, TEMPLATES), RangeError, JSON.stringify(user));
    }
  });

  it('refuses bad templates', () => {
    assert.throws(() => allowedRootsFor('alice', ['home/{user}']), RangeError);
    assert.throws(() => allowedRootsFor('alice', ['/home/{user}/../root']), RangeError);
    assert.throws(() => allowedRootsFor('alice', ['/home/{group}']), RangeError);
    assert.throws(() => allowedRootsFor('alice', ['/home/{USER}']), RangeError);
    assert.throws(() => allowedRootsFor('alice', ['']), RangeError);
  });
});

describe('checkPathWithinRoots', () => {
  it('accepts the roots themselves and paths below them', () => {
    ok(checkPathWithinRoots('/home/alice', ROOTS), '/home/alice');
    ok(checkPathWithinRoots('/home/alice/', ROOTS), '/home/alice');
    ok(checkPathWithinRoots('/home/alice/run/out.txt', ROOTS), '/home/alice/run/out.txt');
    ok(checkPathWithinRoots('/scratch/alice/x', ROOTS), '/scratch/alice/x');
    ok(checkPathWithinRoots('/home/alice/.hidden', ROOTS), '/home/alice/.hidden');
    ok(checkPathWithinRoots('/home/alice/...', ROOTS), '/home/alice/...');
    ok(checkPathWithinRoots('/home/alice/..x', ROOTS), '/home/alice/..x');
    ok(checkPathWithinRoots('/home/alice/slurm-%j.out', ROOTS), '/home/alice/slurm-%j.out');
    ok(checkPathWithinRoots('/home/alice/ünïcödé 文件', ROOTS), '/home/alice/ünïcödé 文件');
  });

  it('normalizes // and . segments', () => {
    ok(checkPathWithinRoots('//home//alice///x', ROOTS), '/home/alice/x');
    ok(checkPathWithinRoots('/home/./alice/./x/.', ROOTS), '/home/alice/x');
  });

  it('refuses the sibling-prefix trap', () => {
    refused(checkPathWithinRoots('/home/alice2', ROOTS), 'outside');
    refused(checkPathWithinRoots('/home/alice2/x', ROOTS), 'outside');
    refused(checkPathWithinRoots('/home/alice-evil/x', ROOTS));
    refused(checkPathWithinRoots('/home/alic', ROOTS));
    refused(checkPathWithinRoots('/scratch/alice.bak/x', ROOTS));
  });

  it('refuses paths outside every root', () => {
    refused(checkPathWithinRoots('/', ROOTS));
    refused(checkPathWithinRoots('/home', ROOTS));
    refused(checkPathWithinRoots('/home/bob/x', ROOTS));
    refused(checkPathWithinRoots('/etc/passwd', ROOTS));
    refused(checkPathWithinRoots('/scratch', ROOTS));
  });

  it('refuses any .. segment, even one that would stay inside', () => {
    refused(checkPathWithinRoots('/home/alice/../bob', ROOTS), '..');
    refused(checkPathWithinRoots('/home/alice/..', ROOTS), '..');
    refused(checkPathWithinRoots('/home/alice/x/../y', ROOTS), '..');
    refused(checkPathWithinRoots('/home/alice/../../etc/passwd', ROOTS), '..');
    refused(checkPathWithinRoots('/../home/alice/x', ROOTS), '..');
    refused(checkPathWithinRoots('/home/alice/./../alice/x', ROOTS), '..');
    refused(checkPathWithinRoots('/home/alice//..//bob', ROOTS), '..');
  });

  it('refuses relative paths', () => {
    refused(checkPathWithinRoots('home/alice/x', ROOTS), 'absolute');
    refused(checkPathWithinRoots('./x', ROOTS), 'absolute');
    refused(checkPathWithinRoots('../x', ROOTS), 'absolute');
    refused(checkPathWithinRoots('~/x', ROOTS), 'absolute');
    refused(checkPathWithinRoots('~alice/x', ROOTS), 'absolute');
    refused(checkPathWithinRoots(' /home/alice/x', ROOTS), 'absolute');
    refused(checkPathWithinRoots('', ROOTS), 'empty');
  });

  it('refuses NUL, line breaks and control characters', () => {
    refused(checkPathWithinRoots('/home/alice/x\u0000/../../bob', ROOTS), 'NUL');
    refused(checkPathWithinRoots('/home/alice/x\0', ROOTS), 'NUL');
    refused(checkPathWithinRoots('/home/alice/x\ny', ROOTS), 'line break');
    refused(checkPathWithinRoots('/home/alice/x\ry', ROOTS), 'line break');
    refused(checkPathWithinRoots('/home/alice/x\ty', ROOTS), 'control');
    refused(checkPathWithinRoots('/home/alice/\u001b[31mred', ROOTS), 'control');
    refused(checkPathWithinRoots('/home/alice/x\u007f', ROOTS), 'control');
    refused(checkPathWithinRoots('/home/alice/x\u0085', ROOTS), 'control');
    refused(checkPathWithinRoots('/home/alice/\ud800x', ROOTS), 'surrogate');
    refused(checkPathWithinRoots('/home/alice/x\udc00', ROOTS), 'surrogate');
    ok(checkPathWithinRoots('/home/alice/\ud83d\ude00', ROOTS), '/home/alice/\ud83d\ude00');
  });

  it('grants nothing without roots or with broken roots', () => {
    refused(checkPathWithinRoots('/home/alice/x', []));
    refused(checkPathWithinRoots('/home/alice/x', ['home/alice', '/home/alice/../alice', '']));
  });

  it('a "/" root allows every clean absolute path', () => {
    ok(checkPathWithinRoots('/etc/x', ['/']), '/etc/x');
    refused(checkPathWithinRoots('/etc/../x', ['/']));
  });

  it('tolerates unnormalized roots', () => {
    ok(checkPathWithinRoots('/home/alice/x', ['/home/alice/']), '/home/alice/x');
    ok(checkPathWithinRoots('/home/alice/x', ['//home/./alice']), '/home/alice/x');
    refused(checkPathWithinRoots('/home/alice2/x', ['/home/alice/']));
  });
});

describe('validateJobName', () => {
  it('accepts ordinary names', () => {
    for (const name of ['train', 'a', 'sweep lr=0.1', 'job.v2', '...', '..x', 'x..', '%j', 'ünï 文件 😀', 'a\\b', 'x'.repeat(200)]) {
      assert.equal(validateJobName(name), null, JSON.stringify(name));
    }
    assert.equal(JOB_NAME_MAX_LENGTH, 200);
    assert.equal(validateJobName('😀'.repeat(200)), null); // counted in characters, not UTF-16 units
  });

  it('refuses names that would add a directory step through %x', () => {
    assert.match(validateJobName('a/b') ?? '', /\//);
    assert.notEqual(validateJobName('/'), null);
    assert.notEqual(validateJobName('../../etc/cron.d/x'), null);
    assert.notEqual(validateJobName('..'), null);
    assert.notEqual(validateJobName('.'), null);
  });

  it('refuses empty, too long and control characters', () => {
    assert.match(validateJobName('') ?? '', /empty/);
    assert.match(validateJobName('x'.repeat(201)) ?? '', /longer/);
    assert.match(validateJobName('a\nb') ?? '', /line break/);
    assert.match(validateJobName('a\u0000b') ?? '', /NUL/);
    assert.match(validateJobName('a\tb') ?? '', /control/);
    assert.match(validateJobName('\u001b[2J') ?? '', /control/);
    assert.match(validateJobName('a\ud800') ?? '', /surrogate/);
    assert.notEqual(validateJobName(42 as unknown as string), null);
  });
});

describe('the pattern-expansion trick, end to end', () => {
  const cwd = '/home/alice/run';
  const ctx = (jobName: string) => ({ jobId: 77, jobName, user: 'alice' });

  it('a validated job name cannot leave the root through %x', () => {
    const evil = '../../bob';
    assert.notEqual(validateJobName(evil), null);
    // Had it been accepted, the expanded path would escape; the path check refuses it anyway.
    refused(checkPathWithinRoots(jobFilePath('%x/out', cwd, ctx(evil)), ROOTS), '..');
    refused(checkPathWithinRoots(jobFilePath('%x/out', cwd, ctx('..')), ROOTS), '..');
    ok(checkPathWithinRoots(jobFilePath('%x/out-%j', cwd, ctx('train')), ROOTS), '/home/alice/run/train/out-77');
  });

  it('checks a raw pattern where slurmstepd will write, before the job runs', () => {
    ok(checkFilePatternWithinRoots('slurm-%j.out', cwd, ROOTS), '/home/alice/run/slurm-%j.out');
    ok(checkFilePatternWithinRoots('/scratch/alice/%x/%A_%a.log', cwd, ROOTS), '/scratch/alice/%x/%A_%a.log');
    ok(checkFilePatternWithinRoots('3', cwd, ROOTS), '/dev/null'); // "task 3 only": not written
    refused(checkFilePatternWithinRoots('/home/bob/%j', cwd, ROOTS));
    refused(checkFilePatternWithinRoots('../../bob/x', cwd, ROOTS), '..');
    refused(checkFilePatternWithinRoots('', cwd, ROOTS));
    refused(checkFilePatternWithinRoots('x', 'relative/dir', ROOTS));
  });

  it('catches the backslash tricks a naive path.resolve would miss', () => {
    // slurmstepd opens <cwd> + "/../../bob/x" (no expansion, no separator): a traversal.
    refused(checkFilePatternWithinRoots('\\/../../bob/x', cwd, ROOTS), '..');
    // <"/home/alice"> + "2/x" -> /home/alice2/x: the sibling-prefix trap.
    refused(checkFilePatternWithinRoots('2/x\\', '/home/alice', ROOTS), 'outside');
    // Harmless escapes stay inside.
    ok(checkFilePatternWithinRoots('/home/alice/out\\%j', cwd, ROOTS), '/home/alice/out%j');
    ok(checkFilePatternWithinRoots('out\\.log', '/home/alice/', ROOTS), '/home/alice/out.log');
  });
});
