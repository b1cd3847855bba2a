/**
 * The CLI's exit codes (documented in docs/api.md). Scripts can tell "fix your command" from
 * "log in again" from "try later" without parsing messages.
 */
export const ExitCode = {
  OK: 0,
  /** The job ended unsuccessfully (`sbatch --wait`, `output --follow`), or an unexpected failure. */
  FAILURE: 1,
  /** Bad command line or script, refused before anything was sent. */
  USAGE: 2,
  /** No credentials configured, or the server refused them (401/403). */
  AUTH: 3,
  /** The job, node or island does not exist (or is not yours) (404). */
  NOT_FOUND: 4,
  /** The server refused the request (400, 409, 413, 416, 422): the problem says why. */
  REJECTED: 5,
  /** The server could not be reached or failed (network error, timeout, 5xx): try again later. */
  UNAVAILABLE: 6,
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
