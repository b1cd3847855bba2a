import { SlurmRejectedError, SlurmUnavailableError } from '../../core/slurm/slurm-client.port';

/** SLURM error numbers the adapters treat specially (slurm_errno.h, 22.05). */
export const SLURM_ERR = {
  INVALID_PARTITION_NAME: 2000,
  ACCESS_DENIED: 2002,
  REQUESTED_NODE_CONFIG_UNAVAILABLE: 2014,
  REQUESTED_PART_CONFIG_UNAVAILABLE: 2015,
  INVALID_JOB_ID: 2017,
  ALREADY_DONE: 2021,
  JOB_HELD: 2042,
  JOB_FINISHED: 2084,
  ENVIRONMENT_MISSING: 2127,
  PARSE_FAILURE: 9001,
  /** slurmdbd (REST /slurmdb/ and sacct --json): no record matches the query. */
  NOTHING_FOUND: 9003,
} as const;

/** One item of an `errors[]` array, with both key sets slurmrestd uses normalized. */
export interface SlurmErrorItem {
  code: number | undefined;
  message: string;
}

/** Accepts `{error, error_number, description, source}` and `{error, error_code}`. */
export function normalizeErrors(errors: unknown): SlurmErrorItem[] {
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => {
      const rawCode = e.error_code ?? e.error_number ?? e.errno;
      const code = typeof rawCode === 'number' ? rawCode : typeof rawCode === 'string' && /^\d+$/.test(rawCode) ? Number(rawCode) : undefined;
      const parts = [e.error, e.description].filter((p): p is string => typeof p === 'string' && p !== '');
      const message = [...new Set(parts)].join(': ') || (code !== undefined ? `SLURM error ${code}` : 'SLURM error');
      return { code, message };
    });
}

/**
 * Communication and authentication failures (1000-1999 protocol/auth, 5000-5999 socket) say
 * nothing about the request; a SLURM errno outside those ranges (2000s, 9000s) is a verdict on it.
 */
export function isCommunicationError(code: number | undefined): boolean {
  return code !== undefined && ((code >= 1000 && code < 2000) || (code >= 5000 && code < 6000));
}

/** Turns a failed answer into the port's error type. */
export function errorFromItems(items: SlurmErrorItem[], httpStatus: number | undefined, context: string): Error {
  const message = describeItems(items) || `HTTP ${httpStatus}`;
  if (items.some((i) => isCommunicationError(i.code))) {
    return new SlurmUnavailableError(`${context}: ${message}`);
  }
  const code = primaryCode(items);
  if (code === undefined || code <= 0) {
    // "Unspecified error" (-1) without errno: what slurmrestd answers when its own call to
    // slurmctld failed, e.g. for an invalid or expired token. Not a verdict on the request.
    return new SlurmUnavailableError(`${context}: ${message} (HTTP ${httpStatus})`);
  }
  return new SlurmRejectedError(`${context}: ${message}`, code, httpStatus);
}

/**
 * sbatch/scontrol print strerror() text, not numbers; the codes for the messages we care about,
 * so SSH rejections carry the same code as REST ones.
 */
const MESSAGE_CODES: Array<[RegExp, number]> = [
  [/Invalid partition name specified/i, SLURM_ERR.INVALID_PARTITION_NAME],
  [/Access\/permission denied/i, SLURM_ERR.ACCESS_DENIED],
  [/Requested node configuration is not available/i, SLURM_ERR.REQUESTED_NODE_CONFIG_UNAVAILABLE],
  [/Requested partition configuration not available/i, SLURM_ERR.REQUESTED_PART_CONFIG_UNAVAILABLE],
  [/Invalid job id specified/i, SLURM_ERR.INVALID_JOB_ID],
  [/already completing or completed/i, SLURM_ERR.ALREADY_DONE],
  [/Job has already finished/i, SLURM_ERR.JOB_FINISHED],
];

export function codeFromMessage(message: string): number | undefined {
  for (const [re, code] of MESSAGE_CODES) if (re.test(message)) return code;
  return undefined;
}

/** Messages from SLURM clients that mean the controller could not be reached. */
export const CLI_UNAVAILABLE =
  /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted|Communication connection failure|Protocol authentication error|Unable to establish controller machine|Could not establish a configuration source|Invalid user for SlurmUser|munge/i;

/** The most specific code: the first real SLURM errno, else the parse failure code, else undefined. */
export function primaryCode(items: SlurmErrorItem[]): number | undefined {
  const real = items.find((i) => i.code !== undefined && i.code > 0 && i.code !== 9001 && i.code !== 9002);
  return real?.code ?? items.find((i) => i.code !== undefined && i.code > 0)?.code ?? items.find((i) => i.code !== undefined)?.code;
}

export function describeItems(items: SlurmErrorItem[]): string {
  return items.map((i) => (i.code !== undefined && i.code > 0 ? `${i.message} (${i.code})` : i.message)).join('; ');
}

/** Socket errors raised before a single byte of the request left this machine. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether `error` says the request could not even be sent (no connection was made). Only then is
 * it certain SLURM did not get it: after a timeout or a reset mid-request SLURM may already have
 * the job, and submitting it again (another way, or at once) could run it twice.
 */
export function neverReached(error: unknown): boolean {
  if (!(error instanceof SlurmUnavailableError)) return false;
  for (let cause: unknown = error.cause, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT.has(code)) return true;
  }
  return false;
}
