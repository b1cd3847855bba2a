import type { PrincipalKind } from './principal';

export interface WalletPrincipalRow {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurm_user: string | null;
  chain_address: string;
}

/** The principals that wallets are, as other features (chain ingress) resolve them. */
export interface PrincipalDirectory {
  /** The wallet's principal, created on first sight as its wallet account (or `fallback`) says; null when it may not exist. */
  ensureWalletPrincipal(address: string, fallback: { kind: PrincipalKind; slurmUser: string | null }): Promise<WalletPrincipalRow | null>;
  /** A principal's name and chain address (what identity gates check), null when there is no such principal. */
  identity(principalId: string): Promise<{ name: string; chainAddress: string | null } | null>;
}

export const PRINCIPAL_DIRECTORY = Symbol('PRINCIPAL_DIRECTORY');
