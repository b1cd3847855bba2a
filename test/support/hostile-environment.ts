import fc from 'fast-check';
import { Problem } from '../../src/core/common/problem';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { SBATCH_OPTION_VARIABLES } from '../../src/core/sbatch/environment-policy';
import { FUZZ_POLICY } from './hostile-parser';

/**
 * Environment smuggling: submissions that carry a variable SLURM or the loader would act on
 * (sbatch's option variables, anything in SLURM's namespaces, LD_* and friends), through every
 * channel a job's environment has: the `environment` body, `--export` in the script, `export` in
 * the options, or `--export=NONE,NAME` taking it from the body. The oracle is stronger than "no
 * 5xx": every such submission is refused with a 400 whose field is `environment.<that name>`.
 */

const NAME_TAIL = fc.stringMatching(/^[A-Z0-9_]{0,12}$/);

/** A variable that must never reach a job: a known one, or any name in a refused namespace. */
export const smuggledName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...Object.keys(SBATCH_OPTION_VARIABLES)),
  fc.constantFrom('SLURM_CONF', 'SLURM_CONF_SERVER', 'SLURM_JWT', 'SLURM_UMASK', 'SLURM_RLIMIT_NOFILE', 'SLURM_SPANK_X', 'SLURMD_NODENAME'),
  fc.constantFrom(
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'LD_AUDIT',
    'GCONV_PATH',
    'GLIBC_TUNABLES',
    'HOSTALIASES',
    'RES_OPTIONS',
    'LOCALDOMAIN',
    'NLSPATH',
    'LOCPATH',
  ),
  fc.tuple(fc.constantFrom('SBATCH_', 'SALLOC_', 'SRUN_', 'SLURM_', 'SLURMD_', 'LD_'), NAME_TAIL).map(([prefix, tail]) => prefix + tail),
);

const benign = fc.dictionary(fc.stringMatching(/^[A-KMO-RT-Z][A-Z0-9]{0,8}$/), fc.stringMatching(/^[a-z0-9/._-]{0,16}$/), { maxKeys: 3 });
const safeValue = fc.stringMatching(/^[a-z0-9/._]{1,16}$/);

export interface SmuggledCase {
  body: { script: string; environment?: Record<string, string>; options?: Record<string, unknown> };
  name: string;
  channel: 'environment' | 'script --export' | 'options.export' | 'passed through';
}

export const smuggledSubmission: fc.Arbitrary<SmuggledCase> = fc
  .tuple(
    smuggledName,
    safeValue,
    benign,
    fc.constantFrom('environment', 'script --export', 'options.export', 'passed through') as fc.Arbitrary<SmuggledCase['channel']>,
    fc.constantFrom('ALL', 'NONE'),
  )
  .map(([name, value, others, channel, mode]) => {
    const script = (directive?: string) => ['#!/bin/bash', ...(directive ? [`#SBATCH ${directive}`] : []), 'true', ''].join('\n');
    switch (channel) {
      case 'environment':
        return { name, channel, body: { script: script(), environment: { ...others, [name]: value } } };
      case 'script --export':
        return { name, channel, body: { script: script(`--export=${mode},${name}=${value}`), environment: others } };
      case 'options.export':
        return { name, channel, body: { script: script(), environment: others, options: { export: `${mode},${name}=${value}` } } };
      case 'passed through':
        return { name, channel, body: { script: script(`--export=NONE,${name}`), environment: { ...others, [name]: value } } };
    }
  });

/** What is wrong with how a smuggling case was answered (`status`, problem `field`), or null. */
export function smugglingViolation(name: string, status: number, field: unknown): string | null {
  if (status !== 400) return `answered ${status}, not 400`;
  if (field !== `environment.${name}`) return `refused on ${String(field)}, not environment.${name}`;
  return null;
}

/** The cases run through the submission policy in process (what the API applies before storing). */
export function fuzzEnvironmentPolicy(options: { runs: number; seed: number }) {
  const started = Date.now();
  const violations: Array<{ violation: string; case: SmuggledCase }> = [];
  let cases = 0;
  fc.assert(
    fc.property(smuggledSubmission, (smuggled) => {
      cases++;
      let violation: string | null;
      try {
        normalizeSubmission(smuggled.body, FUZZ_POLICY);
        violation = 'accepted';
      } catch (error) {
        violation = error instanceof Problem ? smugglingViolation(smuggled.name, error.status, error.extras.field) : `threw ${String(error)}`;
      }
      if (violation && violations.length < 20) violations.push({ violation, case: smuggled });
    }),
    { numRuns: options.runs, seed: options.seed },
  );
  return { cases, seed: options.seed, elapsedMs: Date.now() - started, violations };
}

/** The same cases sent to a running API as a researcher; an accepted one is a violation even if no worker runs it. */
export async function fuzzEnvironmentHttp(baseUrl: string, key: string, options: { runs: number; seed: number; concurrency: number }) {
  const started = Date.now();
  const batch = fc.sample(smuggledSubmission, { numRuns: options.runs, seed: options.seed });
  const violations: Array<{ violation: string; case: SmuggledCase }> = [];
  const byChannel: Record<string, number> = {};
  let next = 0;
  const client = async () => {
    while (next < batch.length) {
      const smuggled = batch[next++];
      byChannel[smuggled.channel] = (byChannel[smuggled.channel] ?? 0) + 1;
      const response = await fetch(`${baseUrl}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(smuggled.body),
      });
      const text = await response.text();
      let field: unknown;
      try {
        field = JSON.parse(text).field;
      } catch {
        field = undefined;
      }
      const violation = smugglingViolation(smuggled.name, response.status, field);
      if (violation && violations.length < 20) violations.push({ violation: `${violation}: ${text.slice(0, 200)}`, case: smuggled });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return { cases: batch.length, seed: options.seed, elapsedMs: Date.now() - started, byChannel, violations };
}
