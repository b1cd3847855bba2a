import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import type { PrincipalKind, Scope } from '../../core/auth/principal';

export interface DelegationRow {
  id: string;
  principal_id: string;
  delegate_id: string;
  scopes: Scope[];
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

/** The researcher behind an active delegation, with the delegated scopes. */
export interface ActingRow {
  delegation_id: string;
  scopes: Scope[];
  id: string;
  name: string;
  kind: PrincipalKind;
  slurm_user: string | null;
  chain_address: string | null;
}

/** `delegations`: its one writer. */
@Injectable()
export class DelegationsRepository {
  constructor(private readonly db: DataSource) {}

  async insert(researcherId: string, delegateId: string, scopes: Scope[], seconds: number): Promise<DelegationRow> {
    const [row] = await rows<DelegationRow>(
      this.db,
      `INSERT INTO delegations (principal_id, delegate_id, scopes, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING *`,
      [researcherId, delegateId, scopes, seconds],
    );
    return row;
  }

  /** Granted or received by the principal, newest first. */
  involving(principalId: string): Promise<DelegationRow[]> {
    return rows<DelegationRow>(this.db, 'SELECT * FROM delegations WHERE principal_id = $1 OR delegate_id = $1 ORDER BY created_at DESC LIMIT 500', [
      principalId,
    ]);
  }

  /** False when the researcher granted no delegation with this id. */
  async revoke(id: string, researcherId: string): Promise<boolean> {
    const revoked = await rows(this.db, 'UPDATE delegations SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND principal_id = $2 RETURNING id', [
      id,
      researcherId,
    ]);
    return revoked.length > 0;
  }

  async active(delegateId: string, researcherId: string): Promise<ActingRow | null> {
    const [row] = await rows<ActingRow>(
      this.db,
      `SELECT d.id AS delegation_id, d.scopes, p.id, p.name, p.kind, p.slurm_user, p.chain_address
         FROM delegations d JOIN principals p ON p.id = d.principal_id
        WHERE d.delegate_id = $1 AND d.principal_id = $2 AND d.revoked_at IS NULL AND d.expires_at > now()
          AND p.disabled_at IS NULL
        ORDER BY d.created_at DESC LIMIT 1`,
      [delegateId, researcherId],
    );
    return row ?? null;
  }
}
