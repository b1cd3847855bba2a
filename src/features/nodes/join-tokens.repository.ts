import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';

type Queryable = DataSource | EntityManager;

export interface JoinTokenRow {
  id: string;
  provider_id: string;
  prefix: string;
  expires_at: Date;
  max_uses: number;
  uses: number;
  revoked_at: Date | null;
  created_at: Date;
  created_by: string | null;
  /** now() >= expires_at, evaluated by PostgreSQL (one clock for every check). */
  expired: boolean;
  /** The provider's principal was disabled: its tokens no longer let anything join. */
  provider_disabled: boolean;
}

const COLUMNS = `id, provider_id, prefix, expires_at, max_uses, uses, revoked_at, created_at, created_by,
  expires_at <= now() AS expired,
  coalesce((SELECT p.disabled_at IS NOT NULL FROM principals p WHERE p.id = provider_id), true) AS provider_disabled`;

@Injectable()
export class JoinTokensRepository {
  constructor(private readonly db: DataSource) {}

  async providerKind(id: string): Promise<string | null> {
    const [row] = await rows<{ kind: string }>(this.db, 'SELECT kind FROM principals WHERE id = $1', [id]);
    return row?.kind ?? null;
  }

  async insert(providerId: string, createdBy: string, prefix: string, hash: Buffer, expiresInSeconds: number, maxUses: number, db: Queryable = this.db) {
    const [row] = await rows<JoinTokenRow>(
      db,
      `INSERT INTO join_tokens (provider_id, created_by, prefix, token_hash, expires_at, max_uses)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int), $6)
       RETURNING ${COLUMNS}`,
      [providerId, createdBy, prefix, hash, expiresInSeconds, maxUses],
    );
    return row;
  }

  async list(providerId: string | null, limit: number): Promise<JoinTokenRow[]> {
    return rows<JoinTokenRow>(
      this.db,
      `SELECT ${COLUMNS} FROM join_tokens WHERE ($1::uuid IS NULL OR provider_id = $1)
        ORDER BY created_at DESC, id LIMIT $2`,
      [providerId, limit],
    );
  }

  async findVisible(id: string, providerId: string | null): Promise<JoinTokenRow | null> {
    const [row] = await rows<JoinTokenRow>(this.db, `SELECT ${COLUMNS} FROM join_tokens WHERE id = $1 AND ($2::uuid IS NULL OR provider_id = $2)`, [
      id,
      providerId,
    ]);
    return row ?? null;
  }

  async revoke(id: string, db: Queryable = this.db): Promise<JoinTokenRow> {
    const [row] = await rows<JoinTokenRow>(db, `UPDATE join_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
    return row;
  }

  async findByHash(hash: Buffer, db: Queryable = this.db): Promise<JoinTokenRow | null> {
    const [row] = await rows<JoinTokenRow>(db, `SELECT ${COLUMNS} FROM join_tokens WHERE token_hash = $1`, [hash]);
    return row ?? null;
  }

  /**
   * Takes one use of a token that is still good, atomically (concurrent joins cannot overdraw it);
   * null when it is unknown, revoked, expired or used up.
   */
  async consumeUse(hash: Buffer, db: Queryable): Promise<(JoinTokenRow & { provider_name: string }) | null> {
    const [row] = await rows<JoinTokenRow & { provider_name: string }>(
      db,
      `UPDATE join_tokens SET uses = uses + 1
        WHERE token_hash = $1 AND uses < max_uses AND revoked_at IS NULL AND expires_at > now()
          AND EXISTS (SELECT 1 FROM principals p WHERE p.id = provider_id AND p.disabled_at IS NULL)
        RETURNING ${COLUMNS}, (SELECT name FROM principals p WHERE p.id = provider_id) AS provider_name`,
      [hash],
    );
    return row ?? null;
  }

  async insertNonce(tokenId: string, nonce: string, ttlSeconds: number): Promise<Date> {
    const [row] = await rows<{ expires_at: Date }>(
      this.db,
      `INSERT INTO join_nonces (nonce, token_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::int))
       RETURNING expires_at`,
      [nonce, tokenId, ttlSeconds],
    );
    return row.expires_at;
  }

  /** How many nonces of a token are still unused and unexpired (bounds what one token holder can pile up). */
  async openNonces(tokenId: string): Promise<number> {
    const [row] = await rows<{ n: number }>(
      this.db,
      'SELECT count(*)::int AS n FROM join_nonces WHERE token_id = $1 AND used_at IS NULL AND expires_at > now()',
      [tokenId],
    );
    return row.n;
  }

  /**
   * Uses a nonce once: it must have been issued for this token, be unused and unexpired. On
   * failure, says why ('unknown' also covers a nonce issued for another token).
   */
  async consumeNonce(nonce: string, tokenId: string, db: Queryable): Promise<'ok' | 'unknown' | 'used' | 'expired'> {
    const used = await rows(
      db,
      `UPDATE join_nonces SET used_at = now()
        WHERE nonce = $1 AND token_id = $2 AND used_at IS NULL AND expires_at > now() RETURNING nonce`,
      [nonce, tokenId],
    );
    if (used.length > 0) return 'ok';
    const [row] = await rows<{ used_at: Date | null }>(db, 'SELECT used_at FROM join_nonces WHERE nonce = $1 AND token_id = $2', [nonce, tokenId]);
    if (!row) return 'unknown';
    return row.used_at ? 'used' : 'expired';
  }

  /** Nonces long past their expiry are only noise (used ones are kept a day for forensics). */
  async purgeNonces(): Promise<number> {
    const [row] = await rows<{ n: number }>(
      this.db,
      `WITH purged AS (DELETE FROM join_nonces WHERE expires_at < now() - interval '1 day' RETURNING 1)
       SELECT count(*)::int AS n FROM purged`,
    );
    return row.n;
  }
}
