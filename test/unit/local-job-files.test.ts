import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import { WorkLimiter } from '../../src/core/common/work-limiter';
import { JobFileAccessError, JobFileUnavailableError } from '../../src/core/slurm/job-files.port';
import { LocalJobFiles } from '../../src/adapters/slurm/local-job-files';

/**
 * LocalJobFiles on a real directory tree: the owner is whoever runs the test, the owner's root a
 * temporary directory, and "outside" a sibling directory holding a file the owner did not write.
 */
describe('LocalJobFiles', () => {
  const user = userInfo().username;
  let base: string;
  let root: string;
  let outside: string;
  let files: LocalJobFiles;
  const whole = { offset: 0, length: 1 << 20 };

  const refused = async (path: string) => {
    const started = Date.now();
    await assert.rejects(files.read(user, path, whole), JobFileAccessError, path);
    assert.ok(Date.now() - started < 2000, `${path} was refused at once`);
  };

  before(() => {
    base = realpathSync(mkdtempSync('/tmp/local-job-files-'));
    root = join(base, 'home');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(join(outside, 'dir'), { recursive: true });
    writeFileSync(join(root, 'out.txt'), 'hello output\n');
    writeFileSync(join(root, 'sub', 'nested.txt'), 'nested\n');
    writeFileSync(join(outside, 'secret'), 'not yours\n');
    writeFileSync(join(outside, 'dir', 'secret'), 'not yours either\n');
    writeFileSync(join(root, 'foreign.txt'), 'written by nobody\n');
    chownSync(join(root, 'foreign.txt'), 65534, 65534);
    execFileSync('mkfifo', [join(root, 'fifo.out')]);
    symlinkSync(join(root, 'out.txt'), join(root, 'link-inside.out'));
    symlinkSync('loop.out', join(root, 'loop.out'));
    symlinkSync(join(outside, 'secret'), join(root, 'link-existing.out'));
    symlinkSync(join(outside, 'missing'), join(root, 'link-missing.out'));
    symlinkSync(join(root, 'sub'), join(root, 'dirlink-inside'));
    symlinkSync(join(outside, 'dir'), join(root, 'dirlink-existing'));
    symlinkSync(join(outside, 'nodir'), join(root, 'dirlink-missing'));
    symlinkSync('dirloop', join(root, 'dirloop'));
    files = new LocalJobFiles(() => [root], new WorkLimiter({ total: 2, perKey: 1 }), 5000);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('serves a regular file of the owner, whole or in part', async () => {
    const slice = await files.read(user, join(root, 'out.txt'), whole);
    assert.equal(slice?.data.toString(), 'hello output\n');
    assert.deepEqual(await files.read(user, join(root, 'out.txt'), { offset: -7, length: 7 }), { data: Buffer.from('output\n'), start: 6, size: 13 });
    assert.equal((await files.read(user, `${root}//sub/./nested.txt`, whole))?.data.toString(), 'nested\n');
  });

  it('a path that does not exist yet is null: a missing file, directory or root', async () => {
    assert.equal(await files.read(user, join(root, 'not-yet.out'), whole), null);
    assert.equal(await files.read(user, join(root, 'no-dir', 'x.out'), whole), null);
    const absent = new LocalJobFiles(() => [join(base, 'no-root')], new WorkLimiter({ total: 1, perKey: 1 }), 5000);
    assert.equal(await absent.read(user, join(base, 'no-root', 'x.out'), whole), null);
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    await refused(join(root, 'fifo.out'));
    await refused(join(root, 'fifo.out'));
    assert.equal((await files.read(user, join(root, 'out.txt'), whole))?.data.toString(), 'hello output\n', 'no slot is left stuck');
  });

  it('never follows a symlink at the file itself, even one inside the roots, and refuses a loop', async () => {
    await refused(join(root, 'link-inside.out'));
    await refused(join(root, 'loop.out'));
  });

  it('refuses a symlink to an existing and to a missing file outside alike', async () => {
    await refused(join(root, 'link-existing.out'));
    await refused(join(root, 'link-missing.out'));
  });

  it('follows a directory symlink only back inside the roots; outside, missing or looping alike refused', async () => {
    assert.equal((await files.read(user, join(root, 'dirlink-inside', 'nested.txt'), whole))?.data.toString(), 'nested\n');
    assert.equal(await files.read(user, join(root, 'dirlink-inside', 'not-yet.out'), whole), null);
    await refused(join(root, 'dirlink-existing', 'secret'));
    await refused(join(root, 'dirlink-existing', 'missing'));
    await refused(join(root, 'dirlink-missing', 'secret'));
    await refused(join(root, 'dirloop', 'x.out'));
  });

  it('refuses a file of another user, a file used as a directory, the root itself and paths outside the roots', async () => {
    await refused(join(root, 'foreign.txt'));
    await refused(join(root, 'out.txt', 'x'));
    await refused(root);
    await refused(join(outside, 'secret'));
    await refused(`${root}/../outside/secret`);
    await refused('/dev/null');
  });

  it('with every read slot held by stuck work, a read is refused as unavailable after its bound', async () => {
    const limiter = new WorkLimiter({ total: 1, perKey: 1 });
    let release!: () => void;
    const held = limiter.run('someone', 60_000, () => new Promise<void>((resolve) => (release = resolve))).catch(() => undefined);
    const bounded = new LocalJobFiles(() => [root], limiter, 100);
    await assert.rejects(
      bounded.read(user, join(root, 'out.txt'), whole),
      (error: unknown) => error instanceof JobFileUnavailableError && error.reason === 'busy',
    );
    release();
    await held;
    assert.equal((await bounded.read(user, join(root, 'out.txt'), whole))?.data.toString(), 'hello output\n');
  });
});
