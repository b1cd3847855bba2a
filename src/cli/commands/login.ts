import { readFileSync } from 'node:fs';
import { ApiClient, ApiError } from '../api-client';
import { readConfigFile, writeConfigFile } from '../config';
import type { Context } from '../context';
import { ApiKeyCredentials } from '../credentials';
import { ExitCode, usage } from '../exit-codes';

/**
 * `login --api-key KEY` (or `--api-key -` to read it from stdin, keeping it out of shell history):
 * checks the key against the server, then stores it with the server's URL. 401 means the key is
 * wrong; 403 means it is valid but may not read jobs (a provider key), which is still worth storing.
 * Wallet login will be a second mode here, storing a second kind of credentials (see credentials.ts).
 */
export async function login(context: Context, given: string | undefined): Promise<number> {
  if (!given) throw usage('login needs --api-key KEY (or --api-key - to read it from standard input); wallet login is not available yet');
  const apiKey = (given === '-' ? readFileSync(0, 'utf8') : given).trim();
  if (!/^[\x21-\x7e]{16,512}$/.test(apiKey)) throw usage('that does not look like an API key');
  const credentials = new ApiKeyCredentials(apiKey);
  try {
    await new ApiClient(context.settings.url, credentials).json('GET', '/v1/jobs?limit=1');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
  }
  const path = context.settings.configPath;
  writeConfigFile(path, { ...readConfigFile(path), url: context.settings.url, credentials: { kind: 'api-key', apiKey } });
  context.err(`Logged in to ${context.settings.url} with ${credentials.description}; saved to ${path}`);
  return ExitCode.OK;
}
