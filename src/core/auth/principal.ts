/** Who is calling. API keys and wallet login sessions (identity/) resolve to the same shape. */
export type PrincipalKind = 'researcher' | 'provider_admin' | 'marketplace' | 'platform_admin';

/**
 * `provider`: manage one's own nodes and join tokens (provider admins; platform admins use `admin`
 * for every provider's).
 */
export type Scope = 'submit' | 'read' | 'admin' | 'provider';
export const SCOPES: readonly Scope[] = ['submit', 'read', 'admin', 'provider'];

export interface Principal {
  id: string;
  name: string;
  kind: PrincipalKind;
  /** The POSIX account this principal's jobs run as on every island; null for principals that cannot run jobs. */
  slurmUser: string | null;
  scopes: ReadonlySet<Scope>;
  /** How the caller proved who they are: which key or login session (never the secret itself). */
  credentialId: string;
  /** The VirtEngine account (bech32) this principal is, for VEID and MFA gates; null when not linked. */
  chainAddress: string | null;
  /**
   * The account that sent the request when it acts through a delegation (a marketplace with
   * `X-On-Behalf-Of`): the request runs as this principal but is also counted against the sender's
   * own rate limits and budget, so delegation is no way around them.
   */
  sentBy?: { id: string; kind: PrincipalKind };
}
