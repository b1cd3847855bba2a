import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { MintingCredential } from '../../core/auth/key-lineage';
import type { PrincipalKind } from '../../core/auth/principal';
import type { PrincipalDirectory, WalletPrincipalRow } from '../../core/auth/principal-directory';

export interface PrincipalRow {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurm_user: string | null;
  created_at: Date;
}

/** A principal with the credential that authenticated it. */
export interface AuthenticatedRow {
  id: string;
  name: string;
  kind: PrincipalKind;
  slurm_user: string | null;
  chain_address: string | null;
}

/** Keys revoked because what minted them ended. */
export interface RevokedKey {
  id: string;
  principal_id: string;
  prefix: string;
}

/** The minting credential as it stands in PostgreSQL (database clock). */
export interface MintingParentRow {
  now: Date;
  expires_at: Date | null;
  key_id?: string;
  login_id?: string;
}

/** Every key minted from `$1` (a key's id) or `$2` (a login), directly or through other keys, that is not yet revoked. */
const REVOKE_LINEAGE = `
  WITH RECURSIVE lineage AS (
    SELECT id FROM api_keys WHERE parent_key_id = $1::uuid OR parent_login_id = $2::uuid
    UNION
    SELECT k.id FROM api_keys k JOIN lineage l ON k.parent_key_id = l.id
  )
  UPDATE api_keys SET revoked_at = now() WHERE id IN (SELECT id FROM lineage) AND revoked_at IS NULL
  RETURNING id, principal_id, prefix`;

const WALLET_PRINCIPAL = 'id, name, kind, slurm_user, chain_address';

/**
 * `principals` and `api_keys`: the one writer of both. Statements join the transaction open on the
 * call path, so a key and its audit entry (or a revocation and its lineage) commit together.
 */
@Injectable()
export class PrincipalsRepository implements PrincipalDirectory {
  constructor(private readonly db: DataSource) {}

  async ensureAdmin(name: string): Promise<AuthenticatedRow> {
    const [row] = await rows<AuthenticatedRow>(
      this.db,
      `INSERT INTO principals (name, kind) VALUES ($1, 'platform_admin')
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING ${WALLET_PRINCIPAL}`,
      [name],
    );
    return row;
  }

  /** The live, unexpired key with this hash and its enabled principal. */
  async byKeyHash(hash: Buffer): Promise<(AuthenticatedRow & { key_id: string; scopes: string[]; expires_at: Date | null }) | null> {
    const [row] = await rows<AuthenticatedRow & { key_id: string; scopes: string[]; expires_at: Date | null }>(
      this.db,
      `SELECT p.id, p.name, p.kind, p.slurm_user, p.chain_address, k.id AS key_id, k.scopes, k.expires_at
         FROM api_keys k JOIN principals p ON p.id = k.principal_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND p.disabled_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [hash],
    );
    return row ?? null;
  }

  /** The live login session with this token hash and its enabled principal. */
  async bySessionHash(hash: Buffer): Promise<(AuthenticatedRow & { session_id: string }) | null> {
    const [row] = await rows<AuthenticatedRow & { session_id: string }>(
      this.db,
      `SELECT p.id, p.name, p.kind, p.slurm_user, p.chain_address, s.id AS session_id
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
        WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.rotated_at IS NULL
          AND s.expires_at > now() AND p.disabled_at IS NULL`,
      [hash],
    );
    return row ?? null;
  }

  /** Null when the name is taken. */
  async create(name: string, kind: PrincipalKind, slurmUser: string | null): Promise<PrincipalRow | null> {
    const [created] = await rows<PrincipalRow>(
      this.db,
      `INSERT INTO principals (name, kind, slurm_user) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING RETURNING id, name, kind, slurm_user, created_at`,
      [name, kind, slurmUser],
    );
    return created ?? null;
  }

  list(): Promise<PrincipalRow[]> {
    return rows<PrincipalRow>(this.db, 'SELECT id, name, kind, slurm_user, created_at FROM principals ORDER BY created_at, id');
  }

  async enabledKindOf(principalId: string): Promise<PrincipalKind | null> {
    const [row] = await rows<{ kind: PrincipalKind }>(this.db, 'SELECT kind FROM principals WHERE id = $1 AND disabled_at IS NULL', [principalId]);
    return row?.kind ?? null;
  }

  async kindOf(principalId: string): Promise<PrincipalKind | null> {
    const [row] = await rows<{ kind: PrincipalKind }>(this.db, 'SELECT kind FROM principals WHERE id = $1', [principalId]);
    return row?.kind ?? null;
  }

  async identity(principalId: string): Promise<{ name: string; chainAddress: string | null } | null> {
    const [row] = await rows<{ name: string; chain_address: string | null }>(this.db, 'SELECT name, chain_address FROM principals WHERE id = $1', [
      principalId,
    ]);
    return row ? { name: row.name, chainAddress: row.chain_address } : null;
  }

  async findWalletPrincipal(address: string): Promise<WalletPrincipalRow | null> {
    const [row] = await rows<WalletPrincipalRow>(this.db, `SELECT ${WALLET_PRINCIPAL} FROM principals WHERE chain_address = $1 AND disabled_at IS NULL`, [
      address,
    ]);
    return row ?? null;
  }

  /** The principal of a wallet, created on first sight with the admin's mapping (or the given defaults). */
  async ensureWalletPrincipal(address: string, fallback: { kind: PrincipalKind; slurmUser: string | null }): Promise<WalletPrincipalRow | null> {
    await rows(
      this.db,
      `INSERT INTO principals (name, kind, slurm_user, chain_address)
       SELECT 'wallet:' || $1::text, coalesce(w.kind, $2::text), CASE WHEN w.address IS NULL THEN $3::text ELSE w.slurm_user END, $1::text
         FROM (SELECT 1) one LEFT JOIN wallet_accounts w ON w.address = $1
       ON CONFLICT DO NOTHING`,
      [address, fallback.kind, fallback.slurmUser],
    );
    return this.findWalletPrincipal(address);
  }

  /** An admin's wallet mapping applied to the wallet's principal, if it exists yet. */
  async applyWalletAccount(address: string, kind: PrincipalKind, slurmUser: string | null): Promise<WalletPrincipalRow | null> {
    const [updated] = await rows<WalletPrincipalRow>(
      this.db,
      `UPDATE principals SET kind = $2, slurm_user = $3 WHERE chain_address = $1 RETURNING ${WALLET_PRINCIPAL}`,
      [address, kind, slurmUser],
    );
    return updated ?? null;
  }

  async insertKey(key: {
    principalId: string;
    prefix: string;
    hash: Buffer;
    scopes: string[];
    expiresAt: Date | null;
    parentKeyId: string | null;
    parentLoginId: string | null;
  }): Promise<string> {
    const [row] = await rows<{ id: string }>(
      this.db,
      `INSERT INTO api_keys (principal_id, prefix, key_hash, scopes, expires_at, parent_key_id, parent_login_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [key.principalId, key.prefix, key.hash, key.scopes, key.expiresAt, key.parentKeyId, key.parentLoginId],
    );
    return row.id;
  }

  revokeKey(keyId: string): Promise<RevokedKey[]> {
    return rows<RevokedKey>(this.db, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id, principal_id, prefix', [keyId]);
  }

  /**
   * Every key minted from the key or login, at any depth. Repeated until nothing is left: a key
   * minted from one of them while this runs committed before its parent's row could be revoked
   * here (the mint holds it locked), so the next pass sees it.
   */
  async revokeLineage(from: { keyId?: string; loginId?: string }): Promise<RevokedKey[]> {
    const all: RevokedKey[] = [];
    for (;;) {
      const revoked = await rows<RevokedKey>(this.db, REVOKE_LINEAGE, [from.keyId ?? null, from.loginId ?? null]);
      if (revoked.length === 0) return all;
      all.push(...revoked);
    }
  }

  /**
   * The minting credential, if alive. `lock` holds its row until the transaction ends, in a mode
   * that conflicts with the revoking UPDATE and with other mints: mints from one parent take turns,
   * and a revocation queues among them instead of waiting for a stream of overlapping shared locks.
   */
  async mintingParent(credential: MintingCredential, lock: boolean): Promise<MintingParentRow | null> {
    const locked = lock ? 'FOR NO KEY UPDATE' : '';
    let found: MintingParentRow[];
    if (credential.kind === 'api_key') {
      found = await rows<MintingParentRow>(
        this.db,
        `SELECT now() AS now, expires_at, id AS key_id FROM api_keys
          WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ${locked}`,
        [credential.id],
      );
    } else if (credential.kind === 'session') {
      found = await rows<MintingParentRow>(
        this.db,
        `SELECT now() AS now, refresh_expires_at AS expires_at, family_id AS login_id FROM login_sessions
          WHERE id = $1 AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > now() ${locked}`,
        [credential.id],
      );
    } else {
      found = await rows<MintingParentRow>(this.db, 'SELECT now() AS now, NULL::timestamptz AS expires_at');
    }
    return found[0] ?? null;
  }
}
