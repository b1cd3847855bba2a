import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The real-world sbatch scripts of test/fixtures/sbatch-corpus, each naming its source. */
export const CORPUS_DIR = resolve(__dirname, '../../../test/fixtures/sbatch-corpus');

export interface CorpusScript {
  file: string;
  script: string;
  source: string | null;
}

export function corpusScripts(): CorpusScript[] {
  return readdirSync(CORPUS_DIR)
    .filter((file) => file.endsWith('.sh'))
    .sort()
    .map((file) => {
      const script = readFileSync(join(CORPUS_DIR, file), 'utf8');
      return { file, script, source: /^# Source: (https?:\/\/\S+)$/m.exec(script)?.[1] ?? null };
    });
}

/**
 * Scripts Archipelago refuses on purpose, with what the refusal must name (the option and why):
 * sbatch accepts them, so they are kept out of the verdict comparison.
 */
export const REFUSED_BY_DESIGN: Record<string, RegExp> = {
  'lrz-supermuc.sh': /--get-user-env: not allowed/,
  'slurm-hetjob.sh': /"hetjob" starts a heterogeneous job component; heterogeneous jobs are not supported/,
};

/** Dependencies name jobs by id; in Archipelago those are Archipelago's ids, so these compare by parse only. */
export const NAMES_OTHER_JOBS = (script: string) => /^#SBATCH\s+(?:-d\s*|--dependency=)(?!singleton\b)/m.test(script);
