import { randomUUID } from 'node:crypto';
import type { MintingCredential } from '../../../src/core/auth/key-lineage';
import type { PrincipalKind } from '../../../src/core/auth/principal';
import type { WalletPrincipalRow } from '../../../src/core/auth/principal-directory';
import type { AuthenticatedRow, MintingParentRow, PrincipalRow, PrincipalsRepository, RevokedKey } from '../../../src/features/auth/principals.repository';
import type { FakeDatabase } from './transactions';

interface KeyRecord {
  id: string;
  principalId: string;
  prefix: string;
  hash: Buffer;
  scopes: string[];
  expiresAt: Date | null;
  parentKeyId: string | null;
  parentLoginId: string | null;
  revokedAt: Date | null;
}

/** PrincipalsRepository in memory, with the same answers the SQL gives (live keys only, lineage at any depth). */
export class InMemoryPrincipals {
  principals: Array<PrincipalRow & { chain_address: string | null; disabled: boolean }> = [];
  keys: KeyRecord[] = [];
  /** What `now()` is in the database. */
  now = new Date('2026-12-06T12:00:00Z');

  constructor(db: FakeDatabase) {
    db.register({
      snapshot: () => ({ principals: this.principals.map((p) => ({ ...p })), keys: this.keys.map((k) => ({ ...k })) }),
      restore: (state) => Object.assign(this, state),
    });
  }

  asRepository(): PrincipalsRepository {
    return this as unknown as PrincipalsRepository;
  }

  private live(key: KeyRecord): boolean {
    return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > this.now);
  }

  private row(p: (typeof this.principals)[number]): AuthenticatedRow {
    return { id: p.id, name: p.name, kind: p.kind, slurm_user: p.slurm_user, chain_address: p.chain_address };
  }

  async ensureAdmin(name: string): Promise<AuthenticatedRow> {
    if (!this.principals.some((p) => p.name === name)) await this.create(name, 'platform_admin', null);
    return this.row(this.principals.find((p) => p.name === name)!);
  }

  async byKeyHash(hash: Buffer) {
    const key = this.keys.find((k) => k.hash.equals(hash) && this.live(k));
    const owner = key && this.principals.find((p) => p.id === key.principalId && !p.disabled);
    return key && owner ? { ...this.row(owner), key_id: key.id, scopes: key.scopes, expires_at: key.expiresAt } : null;
  }

  async bySessionHash(): Promise<null> {
    return null;
  }

  async create(name: string, kind: PrincipalKind, slurmUser: string | null): Promise<PrincipalRow | null> {
    if (this.principals.some((p) => p.name === name)) return null;
    const row = { id: randomUUID(), name, kind, slurm_user: slurmUser, created_at: this.now, chain_address: null, disabled: false };
    this.principals.push(row);
    return { id: row.id, name, kind, slurm_user: slurmUser, created_at: row.created_at };
  }

  async list(): Promise<PrincipalRow[]> {
    return this.principals.map(({ id, name, kind, slurm_user, created_at }) => ({ id, name, kind, slurm_user, created_at }));
  }

  async kindOf(principalId: string): Promise<PrincipalKind | null> {
    return this.principals.find((p) => p.id === principalId)?.kind ?? null;
  }

  async identity(principalId: string) {
    const p = this.principals.find((x) => x.id === principalId);
    return p ? { name: p.name, chainAddress: p.chain_address } : null;
  }

  async findWalletPrincipal(address: string): Promise<WalletPrincipalRow | null> {
    const p = this.principals.find((x) => x.chain_address === address && !x.disabled);
    return p ? { id: p.id, name: p.name, kind: p.kind, slurm_user: p.slurm_user, chain_address: address } : null;
  }

  async insertKey(key: Omit<KeyRecord, 'id' | 'revokedAt'>): Promise<string> {
    const id = randomUUID();
    this.keys.push({ ...key, id, revokedAt: null });
    return id;
  }

  async revokeKey(keyId: string): Promise<RevokedKey[]> {
    const key = this.keys.find((k) => k.id === keyId && k.revokedAt === null);
    if (!key) return [];
    key.revokedAt = this.now;
    return [{ id: key.id, principal_id: key.principalId, prefix: key.prefix }];
  }

  async revokeLineage(from: { keyId?: string; loginId?: string }): Promise<RevokedKey[]> {
    const lineage = new Set<string>();
    let grew = true;
    while (grew) {
      grew = false;
      for (const k of this.keys) {
        const child =
          (from.keyId && k.parentKeyId === from.keyId) || (from.loginId && k.parentLoginId === from.loginId) || (k.parentKeyId && lineage.has(k.parentKeyId));
        if (child && !lineage.has(k.id)) {
          lineage.add(k.id);
          grew = true;
        }
      }
    }
    const revoked = this.keys.filter((k) => lineage.has(k.id) && k.revokedAt === null);
    for (const k of revoked) k.revokedAt = this.now;
    return revoked.map((k) => ({ id: k.id, principal_id: k.principalId, prefix: k.prefix }));
  }

  async mintingParent(credential: MintingCredential): Promise<MintingParentRow | null> {
    if (credential.kind === 'api_key') {
      const key = this.keys.find((k) => k.id === credential.id && this.live(k));
      return key ? { now: this.now, expires_at: key.expiresAt, key_id: key.id } : null;
    }
    if (credential.kind === 'session') return null;
    return { now: this.now, expires_at: null };
  }
}
