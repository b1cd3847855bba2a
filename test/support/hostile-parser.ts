import fc from 'fast-check';
import { Problem } from '../../src/core/common/problem';
import { normalizeSubmission } from '../../src/core/jobs/job-request';
import { submitBody } from './hostile-input';

/** The policy of a researcher `alice` on an island with partition `debug`, as the API would apply it. */
export const FUZZ_POLICY = {
  slurmUser: 'alice',
  workdirRoots: ['/home/{user}', '/scratch/{user}'],
  defaultEnvironment: { PATH: '/usr/bin:/bin' },
  maxScriptBytes: 1024 * 1024,
  partitions: new Set(['debug']),
};

/**
 * What is wrong with how normalizeSubmission (parser + path, environment and name policies)
 * treated a body, or null: it either accepts, or refuses with a 4xx Problem naming a field.
 * The body is what the validation pipe would pass on (a submit body whose script is a string).
 */
export function parserViolation(body: unknown): string | null {
  const input = body as { script: string; options?: Record<string, unknown>; environment?: Record<string, string> };
  try {
    normalizeSubmission(input, FUZZ_POLICY);
    return null;
  } catch (error) {
    if (!(error instanceof Problem)) return `threw ${(error as Error)?.stack ?? error}`;
    if (error.status >= 500) return `answered ${error.status}: ${error.detail}`;
    if (typeof error.extras.field !== 'string' || !error.extras.field) return `problem without a field: ${error.detail}`;
    return null;
  }
}

/** Submit bodies shaped as they reach the service: a string script, object options/environment. */
export const parsableSubmitBody = fc.tuple(submitBody, fc.string()).map(([body, fallback]) => {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const asObject = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  return { script: typeof b.script === 'string' ? b.script : fallback, options: asObject(b.options), environment: asObject(b.environment) };
});

export function fuzzParser(options: { runs: number; seed: number }) {
  const started = Date.now();
  const violations: Array<{ violation: string; body: unknown }> = [];
  let cases = 0;
  fc.assert(
    fc.property(parsableSubmitBody, (body) => {
      cases++;
      const violation = parserViolation(body);
      if (violation && violations.length < 20) violations.push({ violation, body });
    }),
    { numRuns: options.runs, seed: options.seed },
  );
  return { cases, seed: options.seed, elapsedMs: Date.now() - started, violations };
}
