import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseSubmission } from '../../src/core/sbatch/parse-sbatch';
import { renderSbatchArgv } from '../../src/core/sbatch/render-sbatch-argv';
import { corpusScripts, REFUSED_BY_DESIGN } from '../support/sbatch-corpus';

/**
 * The corpus of real-world scripts (test/fixtures/sbatch-corpus, each naming the centre guide or
 * repository it follows) through the parser: each is read as sbatch reads it, or refused on
 * purpose with the option named. What SLURM makes of them is compared in
 * test/integration/sbatch-corpus.test.ts against native sbatch.
 */
const corpus = corpusScripts();

describe('sbatch corpus: real-world scripts through the parser', () => {
  it('holds at least 40 scripts, each naming its source', () => {
    assert.ok(corpus.length >= 40, `${corpus.length} scripts`);
    for (const { file, source } of corpus) assert.ok(source, `${file} names no source`);
    assert.ok(new Set(corpus.map((c) => new URL(c.source!).host)).size >= 20, 'from at least 20 different sites');
  });

  for (const { file, script } of corpus) {
    const refusal = REFUSED_BY_DESIGN[file];
    if (refusal) {
      it(`${file}: refused, naming the option and why`, () => assert.throws(() => parseSubmission(script), refusal));
      continue;
    }
    it(`${file}: parsed, and what the SSH adapter sends sbatch reads back the same`, () => {
      const { spec } = parseSubmission(script);
      assert.ok(Object.keys(spec).length > 0, 'its directives were read');
      const argv = renderSbatchArgv(spec);
      const again = parseSubmission(['#!/bin/bash', ...argv.map((arg) => `#SBATCH ${arg}`), 'true', ''].join('\n')).spec;
      assert.deepEqual(again, spec);
    });
  }

  it('reads directive details the way sbatch does', () => {
    const spec = (file: string) => parseSubmission(corpus.find((c) => c.file === file)!.script).spec;
    // Trailing comments on a directive line are not part of the value.
    assert.deepEqual([spec('princeton-serial.sh').jobName, spec('princeton-serial.sh').memPerCpuMb], ['myjob', 1024]);
    // Quotes around a value are removed; D-HH:MM and M:S time forms.
    assert.equal(spec('aris-mpi.sh').jobName, 'testSlurm');
    assert.equal(spec('fasrc-serial.sh').timeLimitMinutes, 10);
    assert.equal(spec('bham-array.sh').timeLimitMinutes, 5);
    assert.equal(spec('lumi-mpi.sh').timeLimitMinutes, 36 * 60);
    // A short option with its value after a blank, and the throttle of an array.
    assert.deepEqual(spec('hku-array-throttle.sh').array?.maxRunning, 10);
    assert.deepEqual(spec('sigma2-array-step.sh').array?.taskIds, [0, 2, 4, 6, 8, 10]);
  });
});
