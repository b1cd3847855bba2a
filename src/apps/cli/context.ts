import { ApiClient } from './api-client';
import { requireCredentials, Settings } from './config';

/** What every command gets: settings, an authenticated client, and where to write. */
export interface Context {
  settings: Settings;
  json: boolean;
  env: Record<string, string | undefined>;
  out(text: string): void;
  /** Progress and diagnostics: stderr, so stdout stays parseable. */
  err(text: string): void;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export function clientFor(context: Context): ApiClient {
  return new ApiClient(context.settings.url, requireCredentials(context.settings));
}

export function printJson(context: Context, value: unknown): void {
  context.out(JSON.stringify(value, null, 2));
}
