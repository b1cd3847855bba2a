import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while handling one request (or one job's work) carries. */
export interface LogContext {
  requestId?: string;
  jobId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `work` with `context` added to the current one; log lines inside it carry those ids. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, work);
}
