import { readFileSync, statSync } from 'node:fs';
import { FactorType, SensitiveTransactionType } from '../../adapters/chain/generated/virtengine';
import type { PrincipalKind } from '../../core/auth/principal';
import { IdentitySource } from '../../core/identity/identity-source';
import type { Requirement, SessionFacts } from '../../core/identity/mfa-rules';
import { ACCOUNT_STATUSES, AccountStatusName } from '../../core/identity/tiers';

/**
 * DEVELOPMENT ONLY. Stands in for x/veid and x/mfa when no chain is configured, so the local
 * stack works end to end: a JSON file of addresses with scores, POSIX accounts, MFA requirements
 * and sessions (format in docs/security.md). Re-read whenever the file changes. Nothing in it is
 * verified by anyone: never point a production control plane at one (it logs a warning at start).
 */
interface DevFile {
  accounts: Record<string, { score?: number; status?: AccountStatusName; slurmUser?: string; kind?: 'researcher' | 'provider_admin' }>;
  mfaRequired: Record<string, Record<string, string[][]>>;
  mfaSessions: Record<
    string,
    { owner: string; transactionType: string; factors: string[]; expiresAt: string; singleUse?: boolean; deviceFingerprint?: string }
  >;
}

export class DevIdentityFileError extends Error {}

const typeNumber = (name: string, where: string): number => {
  const value = (SensitiveTransactionType as Record<string, number>)[name];
  if (value === undefined) throw new DevIdentityFileError(`${where}: unknown SensitiveTransactionType ${name}`);
  return value;
};
const factorNumber = (name: string, where: string): number => {
  const value = (FactorType as Record<string, number>)[`FACTOR_TYPE_${name}`];
  if (value === undefined) throw new DevIdentityFileError(`${where}: unknown factor ${name} (TOTP, FIDO2, SMS, EMAIL, VEID, TRUSTED_DEVICE, HARDWARE_KEY)`);
  return value;
};

export function parseDevIdentityFile(text: string, path: string): DevFile {
  let raw: Partial<DevFile>;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DevIdentityFileError(`${path}: not JSON (${(error as Error).message})`);
  }
  const file: DevFile = { accounts: raw.accounts ?? {}, mfaRequired: raw.mfaRequired ?? {}, mfaSessions: raw.mfaSessions ?? {} };
  for (const [address, account] of Object.entries(file.accounts)) {
    if (account.score !== undefined && (!Number.isInteger(account.score) || account.score < 0 || account.score > 100)) {
      throw new DevIdentityFileError(`${path}: accounts.${address}.score must be an integer 0-100`);
    }
    if (account.status !== undefined && !(ACCOUNT_STATUSES as readonly string[]).includes(account.status)) {
      throw new DevIdentityFileError(`${path}: accounts.${address}.status must be one of ${ACCOUNT_STATUSES.join(', ')}`);
    }
  }
  for (const [address, byType] of Object.entries(file.mfaRequired)) {
    for (const [type, combinations] of Object.entries(byType)) {
      typeNumber(type, `${path}: mfaRequired.${address}`);
      combinations.flat().forEach((f) => factorNumber(f, `${path}: mfaRequired.${address}.${type}`));
    }
  }
  for (const [id, session] of Object.entries(file.mfaSessions)) {
    typeNumber(session.transactionType, `${path}: mfaSessions.${id}`);
    session.factors.forEach((f) => factorNumber(f, `${path}: mfaSessions.${id}`));
    if (Number.isNaN(Date.parse(session.expiresAt))) throw new DevIdentityFileError(`${path}: mfaSessions.${id}.expiresAt is not a date`);
  }
  return file;
}

export class DevIdentitySource implements IdentitySource {
  readonly kind = 'development' as const;
  private loaded: { mtimeMs: number; file: DevFile } | null = null;

  constructor(private readonly path: string | null) {
    this.read();
  }

  async score(address: string) {
    const account = this.read().accounts[address];
    if (!account || account.score === undefined) return null;
    return { score: account.score, status: account.status ?? 'VERIFIED' };
  }

  async mfaRequired(address: string, transactionType: number): Promise<Requirement> {
    const byType = this.read().mfaRequired[address] ?? {};
    const entry = Object.entries(byType).find(([name]) => typeNumber(name, 'mfaRequired') === transactionType);
    if (!entry) return { required: false, factorCombinations: [], minVeidScore: 0 };
    return { required: true, factorCombinations: entry[1].map((c) => c.map((f) => factorNumber(f, 'mfaRequired'))), minVeidScore: 0 };
  }

  async mfaSession(sessionId: string): Promise<SessionFacts> {
    const session = this.read().mfaSessions[sessionId];
    if (!session)
      return {
        found: false,
        isValid: false,
        accountAddress: '',
        transactionType: 0,
        verifiedFactors: [],
        expiresAt: 0,
        usedAt: 0,
        isSingleUse: false,
        deviceFingerprint: '',
      };
    const expiresAt = Math.floor(Date.parse(session.expiresAt) / 1000);
    return {
      found: true,
      isValid: expiresAt > Date.now() / 1000,
      accountAddress: session.owner,
      transactionType: typeNumber(session.transactionType, 'mfaSessions'),
      verifiedFactors: session.factors.map((f) => factorNumber(f, 'mfaSessions')),
      expiresAt,
      usedAt: 0,
      isSingleUse: session.singleUse ?? true,
      deviceFingerprint: session.deviceFingerprint ?? '',
    };
  }

  /** The development file has no trusted devices: every factor must be verified in its sessions. */
  async trustedDevice(): Promise<boolean> {
    return false;
  }

  initialAccount(address: string): { slurmUser: string | null; kind: PrincipalKind } | null {
    const account = this.read().accounts[address];
    return account ? { slurmUser: account.slurmUser ?? null, kind: account.kind ?? 'researcher' } : null;
  }

  private read(): DevFile {
    if (!this.path) return { accounts: {}, mfaRequired: {}, mfaSessions: {} };
    const mtimeMs = statSync(this.path).mtimeMs;
    if (!this.loaded || this.loaded.mtimeMs !== mtimeMs) this.loaded = { mtimeMs, file: parseDevIdentityFile(readFileSync(this.path, 'utf8'), this.path) };
    return this.loaded.file;
  }
}
