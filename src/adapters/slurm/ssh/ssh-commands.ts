/**
 * Pure builders and parsers for the shell commands the SSH adapter runs on the island's login
 * host. Every value is quoted with `shellQuote`; the remote login shell must be POSIX (sh/bash/dash).
 */
import type { SlurmSubmitRequest } from '../../../core/slurm/slurm-client.port';
import { SlurmRejectedError } from '../../../core/slurm/slurm-client.port';
import { renderSbatchArgv } from '../../../core/sbatch/render-sbatch-argv';
import { renderEnvAssignments, shellQuote } from '../../../core/sbatch/render-shell';
import { storedEnvironmentRefusal } from '../../../core/sbatch/environment-policy';
import { LOGIN_ENVIRONMENT } from '../../../core/sbatch/job-environment';
import { SLURM_ERR } from '../slurm-errors';

/** `K='v' ` prefix that points SLURM clients at the island (e.g. SLURM_CONF). */
export function renderCommandPrefix(commandEnvironment: Record<string, string>): string {
  const words = renderEnvAssignments(commandEnvironment);
  return words.length > 0 ? `${words.join(' ')} ` : '';
}

/** A SLURM client command (`squeue`, `scancel`, `scontrol`…) with the island prefix. */
export function renderSlurmCommand(commandEnvironment: Record<string, string>, argv: readonly string[]): string {
  return renderCommandPrefix(commandEnvironment) + argv.map(shellQuote).join(' ');
}

/** Exit status of a submit command whose working directory does not exist or cannot be entered (EX_CONFIG). */
export const CHDIR_FAILED_EXIT = 78;

/**
 * The sbatch invocation for a submit. The script goes to sbatch's stdin. The job gets exactly
 * `request.environment` (plus what SLURM adds itself, SLURM_*, the request for the user's login
 * environment and the island's `commandEnvironment`, which sbatch needs to find the controller): sbatch runs under `env -i`
 * with only those variables and `--export=ALL`. sbatch is located with the login shell's PATH
 * first, so a job environment without /usr/bin in PATH still submits.
 *
 *   cd '<wd>' || exit 78; s=$(command -v sbatch) || {…; exit 127; }; exec env -i 'K=V'… "$s" --parsable …
 *
 * Each step ends the command on failure with its own exit status (a working directory that cannot
 * be entered is `CHDIR_FAILED_EXIT`, the shell's message on stderr), so a failure is never
 * mistaken for the next step's.
 */
export function renderSubmitCommand(request: SlurmSubmitRequest, commandEnvironment: Record<string, string>): string {
  if (!request.script.startsWith('#!')) throw new SlurmRejectedError('script must start with #!', undefined);
  if (!request.workingDirectory || !request.workingDirectory.startsWith('/')) {
    throw new SlurmRejectedError(`working directory must be an absolute path, got ${JSON.stringify(request.workingDirectory)}`, undefined);
  }
  const env = Object.entries(request.environment ?? {});
  if (env.length === 0) {
    throw new SlurmRejectedError('environment must not be empty (send PATH at least)', SLURM_ERR.ENVIRONMENT_MISSING);
  }
  const smuggled = storedEnvironmentRefusal(request.environment);
  if (smuggled) throw new SlurmRejectedError(smuggled, undefined);
  let envWords: string[];
  try {
    // sbatch adds the other variables of sbatchDerivedEnvironment itself, from its options and cwd.
    envWords = renderEnvAssignments({ ...request.environment, ...LOGIN_ENVIRONMENT, ...commandEnvironment });
  } catch (err) {
    throw new SlurmRejectedError((err as Error).message, undefined);
  }
  const argv = [
    '--parsable',
    // sbatch would otherwise translate #PBS/#BSUB lines: options our parser never saw.
    '--ignore-pbs',
    '--export=ALL',
    ...renderSbatchArgv(request.spec, { workingDirectory: request.workingDirectory, comment: request.comment || undefined }),
  ];
  return [
    `cd ${shellQuote(request.workingDirectory)} || exit ${CHDIR_FAILED_EXIT}`,
    `s=$(command -v sbatch) || { echo 'sbatch: command not found' >&2; exit 127; }`,
    `exec env -i ${envWords.join(' ')} "$s" ${argv.map(shellQuote).join(' ')}`,
  ].join('; ');
}

/** Parses `sbatch --parsable` output: `<id>` or `<id>;<cluster>` on the last non-empty line. */
export function parseParsable(stdout: string): { jobId: number; cluster?: string } {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? '';
  const m = /^([1-9][0-9]*)(?:;(\S+))?$/.exec(last);
  if (!m) throw new Error(`unexpected sbatch --parsable output ${JSON.stringify(stdout.slice(0, 200))}`);
  const jobId = Number(m[1]);
  return m[2] !== undefined ? { jobId, cluster: m[2] } : { jobId };
}

/**
 * Parses `scontrol --version; scontrol ping`:
 * `slurm 22.05.8` and `Slurmctld(primary) at vm is UP` (a backup adds `, Slurmctld(backup) at … is DOWN`).
 */
export function parseScontrolPing(stdout: string): { up: boolean; hostname: string; version: string } {
  const version = /^slurm(?:-wlm)?\s+(\S+)/m.exec(stdout)?.[1] ?? '';
  const primary = /Slurmctld\(primary\) at (\S+) is (UP|DOWN)/.exec(stdout);
  if (primary) return { up: primary[2] === 'UP', hostname: primary[1] ?? '', version };
  const any = /Slurmctld\(\w+\) at (\S+) is (UP|DOWN)/.exec(stdout);
  return { up: any?.[2] === 'UP', hostname: any?.[1] ?? '', version };
}

/** `sbatch: error: Batch job submission failed: Invalid partition name specified` → the SLURM part. */
export function slurmErrorText(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const errors = lines.filter((l) => /error/i.test(l));
  const text = (errors.length > 0 ? errors : lines).join('; ');
  return text
    .split('; ')
    .map((l) =>
      l
        .replace(/^(?:sbatch|scancel|scontrol|squeue): error: /i, '')
        .replace(/^[a-z_]+ error: /i, '')
        .replace(/^Batch job submission failed: /i, ''),
    )
    .join('; ');
}
