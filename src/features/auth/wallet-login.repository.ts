import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import { transaction } from '../../adapters/postgres/transactions';
import { PrincipalsRepository } from './principals.repository';

export interface ChallengeRow {
  nonce: string;
  address: string;
  client: string;
  domain: string;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface LoginSessionRow {
  id: string;
  family_id: string;
  principal_id: string;
  expires_at: Date;
  refresh_expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

/** SQL for wallet login: challenges, wallet principals and their POSIX mapping, login sessions. */
@Injectable()
export class WalletLoginRepository {
  constructor(
    private readonly db: DataSource,
    private readonly principals: PrincipalsRepository,
  ) {}

  /** Stores a challenge; drops challenges expired for an hour (kept that long to tell "expired" from "unknown"). */
  async insertChallenge(c: Omit<ChallengeRow, 'used_at'>): Promise<void> {
    await this.db.query("DELETE FROM login_challenges WHERE expires_at < now() - interval '1 hour'");
    await this.db.query('INSERT INTO login_challenges (nonce, address, client, domain, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      c.nonce,
      c.address,
      c.client,
      c.domain,
      c.issued_at,
      c.expires_at,
    ]);
  }

  async openChallenges(client: string): Promise<number> {
    const [row] = await this.db.query('SELECT count(*)::int AS n FROM login_challenges WHERE client = $1 AND used_at IS NULL AND expires_at > now()', [client]);
    return row.n;
  }

  async findChallenge(nonce: string): Promise<ChallengeRow | null> {
    const [row] = await this.db.query('SELECT * FROM login_challenges WHERE nonce = $1', [nonce]);
    return row ?? null;
  }

  /** Marks the challenge used; false when another request used it first (single use under races). */
  async useChallenge(nonce: string): Promise<boolean> {
    const used = await rows(this.db, 'UPDATE login_challenges SET used_at = now() WHERE nonce = $1 AND used_at IS NULL RETURNING nonce', [nonce]);
    return used.length === 1;
  }

  /** An admin's mapping of a wallet to a POSIX account and kind; applied to its principal if it exists. */
  async setWalletAccount(address: string, kind: 'researcher' | 'provider_admin', slurmUser: string | null) {
    return transaction(this.db, async (m: EntityManager) => {
      await m.query(
        `INSERT INTO wallet_accounts (address, kind, slurm_user) VALUES ($1, $2, $3)
         ON CONFLICT (address) DO UPDATE SET kind = EXCLUDED.kind, slurm_user = EXCLUDED.slurm_user, updated_at = now()`,
        [address, kind, slurmUser],
      );
      return this.principals.applyWalletAccount(address, kind, slurmUser);
    });
  }

  /** Sessions whose refresh token has expired can never be used again. */
  async dropDeadSessions(principalId: string): Promise<void> {
    await this.db.query('DELETE FROM login_sessions WHERE principal_id = $1 AND refresh_expires_at < now()', [principalId]);
  }

  async insertSession(
    s: { familyId: string | null; principalId: string; tokenHash: Buffer; refreshHash: Buffer; seconds: number; refreshSeconds: number },
    m: EntityManager | DataSource = this.db,
  ): Promise<LoginSessionRow> {
    const [row] = await m.query(
      `INSERT INTO login_sessions (family_id, principal_id, token_hash, refresh_hash, expires_at, refresh_expires_at)
       VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, now() + make_interval(secs => $5), now() + make_interval(secs => $6))
       RETURNING id, family_id, principal_id, expires_at, refresh_expires_at, rotated_at, revoked_at`,
      [s.familyId, s.principalId, s.tokenHash, s.refreshHash, s.seconds, s.refreshSeconds],
    );
    return row as LoginSessionRow;
  }

  /** Runs `body` with the session holding this refresh token locked (FOR UPDATE), or null. */
  async withRefreshLocked<T>(refreshHash: Buffer, body: (row: LoginSessionRow | null, m: EntityManager) => Promise<T>): Promise<T> {
    return transaction(this.db, async (m) => {
      const [row] = await m.query(
        `SELECT s.id, s.family_id, s.principal_id, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at
           FROM login_sessions s JOIN principals p ON p.id = s.principal_id
          WHERE s.refresh_hash = $1 AND p.disabled_at IS NULL FOR UPDATE OF s`,
        [refreshHash],
      );
      return body(row ?? null, m);
    });
  }

  async markRotated(id: string, m: EntityManager): Promise<void> {
    await m.query('UPDATE login_sessions SET rotated_at = now() WHERE id = $1', [id]);
  }

  /** Ends every session of a login (its refresh chain). */
  async revokeFamily(familyId: string, m: EntityManager | DataSource = this.db): Promise<void> {
    await m.query('UPDATE login_sessions SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [familyId]);
  }

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return transaction(this.db, work);
  }

  async familyOf(sessionId: string): Promise<string | null> {
    const [row] = await this.db.query('SELECT family_id FROM login_sessions WHERE id = $1', [sessionId]);
    return row?.family_id ?? null;
  }
}
