/**
 * The CLI's exit codes (documented in docs/api.md). Scripts can tell "fix your command" from
 * "log in again" from "try later" without parsing messages. The CLI's own failures use the
 * sysexits.h codes (64-78), so they stay apart from a job's own exit code, which `sbatch --wait`
 * and `output --follow` pass on: a job that exits 3 must not read as "not logged in".
 */
export const ExitCode = {
  OK: 0,
  /** The job ended unsuccessfully without an exit code of its own (cancelled, timed out, lost...). */
  FAILURE: 1,
  /** EX_USAGE: bad command line or script, refused before anything was sent. */
  USAGE: 64,
  /** EX_DATAERR: the server refused the request (400, 409, 413, 416, 422): the problem says why. */
  REJECTED: 65,
  /** EX_NOINPUT: the job, node or island does not exist (or is not yours) (404). */
  NOT_FOUND: 66,
  /** EX_SOFTWARE: an unexpected failure inside the CLI. */
  INTERNAL: 70,
  /** EX_TEMPFAIL: the server could not be reached or failed (network error, timeout, 5xx): try again later. */
  UNAVAILABLE: 75,
  /** EX_NOPERM: no credentials configured, or the server refused them (401/403). */
  AUTH: 77,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status === 404) return ExitCode.NOT_FOUND;
  if (status >= 400 && status < 500) return ExitCode.REJECTED;
  return ExitCode.UNAVAILABLE;
}

/** An error that ends the command with a given exit code and a message for stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (message: string) => new CliError(message, ExitCode.USAGE);
