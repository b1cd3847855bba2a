import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentLogContext } from './log-context';
import { redactRecord, redactText } from './redact';
import { StdoutLines } from './stdout-lines';

/** Nest's levels, most severe first; `log` is written as "info". */
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const NAMES: Record<LogLevel, string> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'verbose' };

/** Messages that begin "job 42" (the codebase's convention) carry that job's id as a field. */
const JOB_PREFIX = /^job (\d{1,18})\b/;

/**
 * One JSON object per line: level, time, context, msg, requestId and jobId when known, and any
 * fields a caller passed as an object message. Everything goes through redaction first, so a
 * secret that slips into a message or a field is masked, never written.
 */
export class JsonLogger implements LoggerService {
  private enabled: ReadonlySet<LogLevel>;

  constructor(
    minimum: LogLevel = 'log',
    private readonly write: (line: string) => void = stdoutLines().write,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.enabled = new Set(LEVELS.slice(0, LEVELS.indexOf(minimum) + 1));
  }

  setLogLevels(levels: LogLevel[]): void {
    this.enabled = new Set(levels);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.emit('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.emit('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.emit('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.emit('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.emit('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.emit('fatal', message, params);
  }

  private emit(level: LogLevel, message: unknown, params: unknown[]): void {
    if (!this.enabled.has(level)) return;
    // Nest's convention: the last string parameter is the context; for errors one before it may be a stack.
    const last = params.length - 1;
    const context = typeof params[last] === 'string' ? (params[last] as string) : undefined;
    const stack =
      level === 'error' || level === 'fatal'
        ? params.find((p, i) => (i < last || context === undefined) && typeof p === 'string' && /\n\s+at /.test(p))
        : undefined;
    const entry: Record<string, unknown> = { level: NAMES[level], time: this.clock().toISOString(), context };
    const ids = currentLogContext();
    if (ids?.requestId) entry.requestId = ids.requestId;
    if (ids?.jobId) entry.jobId = ids.jobId;
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (message !== null && typeof message === 'object') {
      const fields = message as Record<string, unknown>;
      entry.msg = fields.msg ?? fields.message ?? '';
      // A loop, not rest destructuring: two lines per request go through here, and the loop costs a third as much.
      for (const key of Object.keys(fields)) if (key !== 'msg' && key !== 'message') entry[key] = fields[key];
    } else {
      entry.msg = String(message);
    }
    if (stack) entry.stack = stack;
    const jobFromText = typeof entry.msg === 'string' ? JOB_PREFIX.exec(entry.msg) : null;
    if (entry.jobId === undefined && jobFromText) entry.jobId = jobFromText[1];
    this.write(`${serialize(redactRecord(entry))}\n`);
  }
}

function serialize(entry: unknown): string {
  try {
    return JSON.stringify(entry);
  } catch {
    // A bigint somewhere (JSON has none): written as its digits. Only then the slower replacer.
  }
  try {
    return JSON.stringify(entry, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
  } catch (error) {
    return JSON.stringify({ level: 'error', msg: redactText(`unserializable log entry: ${(error as Error).message}`) });
  }
}

let shared: StdoutLines | undefined;
/** One buffer for every logger of the process, so their lines keep their order. */
function stdoutLines(): StdoutLines {
  shared ??= new StdoutLines();
  return shared;
}
