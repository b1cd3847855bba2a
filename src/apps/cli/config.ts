/**
 * The CLI's configuration: a JSON file written by `archipelago login`, overridden by the
 * environment (ARCHIPELAGO_URL, ARCHIPELAGO_API_KEY) so CI jobs need no file at all.
 *
 *   ~/.config/archipelago/config.json (or $XDG_CONFIG_HOME/archipelago/config.json, or $ARCHIPELAGO_CONFIG)
 *   { "url": "https://archipelago.example.org", "credentials": { "kind": "api-key", "apiKey": "ak_…" } }
 */

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApiKeyCredentials, CredentialsProvider, credentialsFrom, StoredCredentials, WalletCredentials, WalletCredentialsState } from './credentials';
import { CliError, ExitCode, usage } from './exit-codes';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ConfigFile {
  url?: string;
  credentials?: StoredCredentials;
}

export interface Settings {
  url: string;
  credentials: CredentialsProvider | null;
  configPath: string;
}

type Env = Record<string, string | undefined>;

export function configPath(env: Env): string {
  if (env.ARCHIPELAGO_CONFIG) return env.ARCHIPELAGO_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'archipelago', 'config.json');
}

export function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw usage(`${path} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw usage(`${path} must hold a JSON object`);
  return parsed as ConfigFile;
}

/** The server's base URL without a trailing slash; only http(s). */
export function normalizeUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(`${source}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`${source}: the URL must be http or https`);
  return url.toString().replace(/\/+$/, '');
}

/** File first, then the environment on top; `--url` (the caller's override) wins over both. */
export function resolveSettings(file: ConfigFile, env: Env, path: string, urlOverride?: string): Settings {
  const url = urlOverride
    ? normalizeUrl(urlOverride, '--url')
    : env.ARCHIPELAGO_URL
      ? normalizeUrl(env.ARCHIPELAGO_URL, 'ARCHIPELAGO_URL')
      : normalizeUrl(file.url ?? DEFAULT_URL, path);
  const credentials = env.ARCHIPELAGO_API_KEY
    ? new ApiKeyCredentials(env.ARCHIPELAGO_API_KEY.trim())
    : credentialsFrom(file.credentials, path, (state) => new WalletCredentials(state, refreshWith(url), (next) => saveCredentials(path, next)));
  return { url, credentials, configPath: path };
}

export function requireCredentials(settings: Settings): CredentialsProvider {
  if (settings.credentials) return settings.credentials;
  throw new CliError(`not logged in: run "archipelago login --api-key KEY" or set ARCHIPELAGO_API_KEY (config: ${settings.configPath})`, ExitCode.AUTH);
}

/** Written atomically and readable only by its owner: it holds a secret. */
/** Replaces the stored credentials, keeping the rest of the file. */
export function saveCredentials(path: string, credentials: StoredCredentials): void {
  writeConfigFile(path, { ...readConfigFile(path), credentials });
}

/** The wallet session as the server hands it out (login and refresh answer the same shape). */
export function walletState(
  address: string,
  session: { sessionToken: string; refreshToken: string; expiresAt: string; refreshExpiresAt: string },
): WalletCredentialsState {
  const { sessionToken, refreshToken, expiresAt, refreshExpiresAt } = session;
  return { kind: 'wallet', address, sessionToken, refreshToken, expiresAt, refreshExpiresAt };
}

function refreshWith(url: string) {
  return async (refreshToken: string) => {
    const response = await fetch(`${url}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    if (!response.ok) throw new CliError(`refreshing the wallet login failed (HTTP ${response.status}); log in again`, ExitCode.AUTH);
    const { kind: _kind, address: _address, ...session } = walletState('', (await response.json()) as Parameters<typeof walletState>[1]);
    return session;
  };
}

export function writeConfigFile(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
