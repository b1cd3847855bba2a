/** Who is calling. API keys resolve to one today; wallet sessions (identity) will resolve to the same shape. */
export type PrincipalKind = 'researcher' | 'provider_admin' | 'marketplace' | 'platform_admin';

export type Scope = 'submit' | 'read' | 'admin';
export const SCOPES: readonly Scope[] = ['submit', 'read', 'admin'];

export interface Principal {
  id: string;
  name: string;
  kind: PrincipalKind;
  /** The POSIX account this principal's jobs run as on every island; null for principals that cannot run jobs. */
  slurmUser: string | null;
  scopes: ReadonlySet<Scope>;
  /** How the caller proved who they are: which key (never the key itself). */
  credentialId: string;
}
