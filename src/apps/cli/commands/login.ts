import { readFileSync } from 'node:fs';
import type { OfflineAminoSigner } from '@cosmjs/amino';
import { walletFromKeyFile, walletFromMnemonic, walletLogin } from '../wallet-login-client';
import { ApiClient, ApiError } from '../api-client';
import { saveCredentials, walletState, writeConfigFile, readConfigFile } from '../config';
import type { Context } from '../context';
import { ApiKeyCredentials } from '../credentials';
import { CliError, ExitCode, usage } from '../exit-codes';

export interface LoginOptions {
  apiKey?: string;
  /** A file holding a BIP-39 mnemonic, or `-` for standard input. */
  mnemonicFile?: string;
  /** A key file as the chain tools write it (a mnemonic or a hex private key). */
  keyFile?: string;
  /** Bech32 prefix of the chain's addresses. */
  prefix?: string;
}

/**
 * `login --api-key KEY|-`, or a wallet login: `login --mnemonic-file F|-` / `login --key-file F`
 * signs the server's challenge (ADR-036, as wallets' signArbitrary) and stores the session and its
 * refresh token (mode 600); the key itself is never stored or sent. For an API key, 401 means the key
 * is wrong; 403 means it is valid but may not read jobs (a provider key), which is still worth storing.
 */
export async function login(context: Context, options: LoginOptions): Promise<number> {
  const modes = [options.apiKey, options.mnemonicFile, options.keyFile].filter((m) => m !== undefined);
  if (modes.length !== 1) throw usage('login needs exactly one of --api-key KEY|-, --mnemonic-file FILE|-, --key-file FILE');
  if (options.apiKey !== undefined) return apiKeyLogin(context, options.apiKey);
  const prefix = options.prefix ?? 've';
  let wallet: OfflineAminoSigner;
  try {
    wallet =
      options.keyFile !== undefined
        ? await walletFromKeyFile(options.keyFile, prefix)
        : await walletFromMnemonic(options.mnemonicFile === '-' ? readFileSync(0, 'utf8') : readFileSync(options.mnemonicFile!, 'utf8'), prefix);
  } catch (error) {
    throw usage(`cannot read the wallet: ${(error as Error).message}`);
  }
  let session;
  try {
    session = await walletLogin(context.settings.url, wallet);
  } catch (error) {
    throw new CliError(`wallet login refused: ${(error as Error).message}`, ExitCode.AUTH);
  }
  const path = context.settings.configPath;
  writeConfigFile(path, { ...readConfigFile(path), url: context.settings.url });
  saveCredentials(path, walletState(session.principal.chainAddress, session));
  context.err(`Logged in to ${context.settings.url} as ${session.principal.chainAddress} (session until ${session.expiresAt}); saved to ${path}`);
  return ExitCode.OK;
}

async function apiKeyLogin(context: Context, given: string): Promise<number> {
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
