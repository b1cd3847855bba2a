import { SbatchParseError } from './sbatch-error';

/**
 * `sbatch --wrap=<command>`: sbatch writes the batch script itself, byte for byte this one (seen
 * with `scontrol write batch_script` on a job submitted natively), and names the job `wrap` unless
 * --job-name says otherwise. Pure.
 */
export function wrapScript(command: string): string {
  return `#!/bin/sh\n# This script was created by sbatch --wrap.\n\n${command}\n`;
}

/** sbatch's job name for a --wrap job. */
export const WRAP_JOB_NAME = 'wrap';

export interface Unwrapped {
  /** The script to run: the one given, or the one --wrap makes. */
  script: string;
  /** The options without `wrap`. */
  options: Record<string, unknown> | undefined;
  /** The job name sbatch defaults to for this submission when there is no --job-name, if any. */
  defaultName?: string;
}

/**
 * A submission whose options carry `wrap` (the command line's `--wrap`, or `options.wrap` in the
 * REST body) becomes the script sbatch would make; `--wrap` is not a directive inside a script
 * (the option table refuses it there). sbatch refuses a script together with --wrap, and so does this.
 */
export function unwrapSubmission(script: string | undefined, options: Record<string, unknown> | undefined): Unwrapped {
  const command = options?.wrap;
  if (command === undefined) return { script: script ?? '', options };
  if (typeof command !== 'string' || command.trim() === '') {
    throw new SbatchParseError('options.wrap', 'expects the command to run, as a non-empty string', '--wrap');
  }
  if (command.includes('\0')) throw new SbatchParseError('options.wrap', 'the command may not contain NUL', '--wrap');
  if (script !== undefined && script !== '') {
    throw new SbatchParseError('script', 'a script cannot be given together with --wrap (sbatch: script arguments not permitted with --wrap option)', '--wrap');
  }
  const rest = { ...options };
  delete rest.wrap;
  return { script: wrapScript(command), options: rest, defaultName: WRAP_JOB_NAME };
}
