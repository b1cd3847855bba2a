/**
 * How the CLI proves who it is. Every request asks a CredentialsProvider for its Authorization
 * header, so the commands never care which kind of credential is configured: an API key, or a wallet
 * login (ADR-036 signature over a server challenge, exchanged for a short session token that is
 * refreshed with its single-use refresh token when it runs out).
 */

import { CliError, ExitCode } from './exit-codes';

export interface CredentialsProvider {
  /** The value of the Authorization header for the next request. */
  authorization(): Promise<string>;
  /** For messages: which credential is in use, never the secret. */
  readonly description: string;
}

/** What `login` stores in the config file. */
export type StoredCredentials = { kind: 'api-key'; apiKey: string } | WalletCredentialsState;

export interface WalletCredentialsState {
  kind: 'wallet';
  address: string;
  sessionToken: string;
  refreshToken: string;
  /** ISO 8601. */
  expiresAt: string;
  refreshExpiresAt: string;
}

/** Refresh this long before the session runs out, so a request never races its expiry. */
const REFRESH_MARGIN_MS = 30_000;

/**
 * A wallet login's session: refreshed through `POST /v1/auth/refresh` when it is about to expire, and
 * saved again (the refresh token is single use, so the new pair must replace the old one at once).
 */
export class WalletCredentials implements CredentialsProvider {
  constructor(
    private state: WalletCredentialsState,
    private readonly refresh: (refreshToken: string) => Promise<Omit<WalletCredentialsState, 'kind' | 'address'>>,
    private readonly save: (state: WalletCredentialsState) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get description(): string {
    return `wallet ${this.state.address}`;
  }

  async authorization(): Promise<string> {
    if (Date.parse(this.state.expiresAt) - this.now() < REFRESH_MARGIN_MS) {
      if (Date.parse(this.state.refreshExpiresAt) <= this.now()) {
        throw new CliError(`the login of ${this.state.address} expired; run "archipelago login --mnemonic-file F" (or --key-file F) again`, ExitCode.AUTH);
      }
      this.state = { ...this.state, ...(await this.refresh(this.state.refreshToken)) };
      this.save(this.state);
    }
    return `Bearer ${this.state.sessionToken}`;
  }
}

export class ApiKeyCredentials implements CredentialsProvider {
  constructor(private readonly apiKey: string) {}

  get description(): string {
    return `API key ${this.apiKey.slice(0, 8)}…`;
  }

  async authorization(): Promise<string> {
    return `Bearer ${this.apiKey}`;
  }
}

export function credentialsFrom(
  stored: StoredCredentials | undefined,
  source: string,
  wallet?: (state: WalletCredentialsState) => CredentialsProvider,
): CredentialsProvider | null {
  if (stored === undefined) return null;
  switch (stored.kind) {
    case 'api-key':
      return new ApiKeyCredentials(stored.apiKey);
    case 'wallet':
      if (!wallet) throw new CliError(`${source} holds a wallet login this command cannot refresh`, ExitCode.AUTH);
      return wallet(stored);
    default:
      throw new CliError(`${source} holds credentials of an unknown kind; run "archipelago login" again`, ExitCode.AUTH);
  }
}
