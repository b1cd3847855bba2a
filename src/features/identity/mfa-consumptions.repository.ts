import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';

/** `mfa_consumptions`: which single-use MFA session was spent on what. */
@Injectable()
export class MfaConsumptionsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Spends the session on this action; true also when it was spent on exactly this action before
   * (a retried request), false when it went to anything else.
   */
  async consume(sessionId: string, principalId: string, action: string, subject: string | null): Promise<boolean> {
    const inserted = await rows(
      this.db,
      `INSERT INTO mfa_consumptions (session_id, principal_id, action, subject) VALUES ($1, $2, $3, $4)
       ON CONFLICT (session_id) DO UPDATE SET consumed_at = mfa_consumptions.consumed_at
        WHERE mfa_consumptions.subject = EXCLUDED.subject AND mfa_consumptions.principal_id = EXCLUDED.principal_id
          AND mfa_consumptions.action = EXCLUDED.action
       RETURNING session_id`,
      [sessionId, principalId, action, subject],
    );
    return inserted.length > 0;
  }
}
