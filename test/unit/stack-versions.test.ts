import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rootFor2411 } from '../support/slurm-releases';

const REPO = resolve(__dirname, '../../..');
const LIB = join(REPO, 'scripts/stack/lib.sh');

/** Runs a function of scripts/stack/lib.sh with these arguments; its stdout. */
function lib(fn: string, ...args: string[]): string {
  return execFileSync('bash', ['-c', `. "${LIB}" && ${fn} "$@"`, '_', ...args], { encoding: 'utf8' });
}

describe('the stack scripts choose by the host’s versions', () => {
  test('debian_release reads VERSION_ID (install.sh: 12 → SLURM 22.05 + PostgreSQL 15, 13 → 24.11 + 17)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'os-release-'));
    try {
      for (const [version, name] of [
        ['12', 'bookworm'],
        ['13', 'trixie'],
      ]) {
        const file = join(dir, name);
        writeFileSync(
          file,
          `PRETTY_NAME="Debian GNU/Linux ${version} (${name})"\nNAME="Debian GNU/Linux"\nVERSION_ID="${version}"\nVERSION_CODENAME=${name}\nID=debian\n`,
        );
        assert.equal(lib('debian_release', file).trim(), version);
      }
      assert.equal(lib('debian_release', join(dir, 'missing')), '', 'no os-release: unknown, and install.sh refuses it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('root_for_2411: the host’s own SLURM where it is 24.11 (Debian 13), else the trixie root', () => {
    assert.equal(lib('root_for_2411', 'slurm-wlm 24.11.5').trim(), '');
    assert.equal(lib('root_for_2411', 'slurm-wlm 22.05.8').trim(), 'trixie');
    assert.equal(lib('root_for_2411', '').trim(), 'trixie', 'no SLURM on the host yet');
    // the tests' and benchmarks' helper agrees with the script
    assert.equal(rootFor2411('24.11.5'), '');
    assert.equal(rootFor2411('22.05.8'), 'trixie');
    assert.equal(rootFor2411(''), 'trixie');
  });

  test('every stack script parses (bash -n)', () => {
    const scripts = ['scripts', 'scripts/stack', 'slurm/local'].flatMap((dir) =>
      readdirSync(join(REPO, dir))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => join(REPO, dir, f)),
    );
    assert.ok(scripts.length > 20, `found ${scripts.length} scripts`);
    for (const script of scripts) execFileSync('bash', ['-n', script]);
  });
});
