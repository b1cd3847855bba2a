/**
 * How the CLI proves who it is. Every request asks a CredentialsProvider for its Authorization
 * header, so the commands never care which kind of credential is configured.
 *
 * Today there is one kind, an API key. Wallet login (ADR-036 signature over a server challenge,
 * exchanged for a session token) is the next kind: it adds a `{ kind: 'wallet', ... }` variant to
 * StoredCredentials, a provider that fetches and refreshes its session, and a `login` mode that
 * writes it; nothing else in the CLI changes.
 */

import { CliError, ExitCode } from './exit-codes';

export interface CredentialsProvider {
  /** The value of the Authorization header for the next request. */
  authorization(): Promise<string>;
  /** For messages: which credential is in use, never the secret. */
  readonly description: string;
}

/** What `login` stores in the config file. */
export type StoredCredentials = { kind: 'api-key'; apiKey: string };

export class ApiKeyCredentials implements CredentialsProvider {
  constructor(private readonly apiKey: string) {}

  get description(): string {
    return `API key ${this.apiKey.slice(0, 8)}…`;
  }

  async authorization(): Promise<string> {
    return `Bearer ${this.apiKey}`;
  }
}

export function credentialsFrom(stored: StoredCredentials | undefined, source: string): CredentialsProvider | null {
  if (stored === undefined) return null;
  switch (stored.kind) {
    case 'api-key':
      return new ApiKeyCredentials(stored.apiKey);
    default:
      throw new CliError(`${source} holds credentials of an unknown kind; run "archipelago login" again`, ExitCode.AUTH);
  }
}
