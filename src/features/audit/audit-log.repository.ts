import { Injectable } from '@nestjs/common';
import type { AuditRecord } from '../../core/audit/audit-trail';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../adapters/postgres/sql';
import { transaction } from '../../adapters/postgres/transactions';
import {
  AuditContent,
  AuditEntry,
  BrokenLink,
  checkAgainstWitness,
  entryHash,
  firstBrokenLink,
  GENESIS_HASH,
  WitnessedHead,
} from '../../core/audit/audit-chain';

/** Every append takes this lock for the rest of its transaction, so the chain never forks. */
const AUDIT_LOCK = 7_641_600_001;

interface AuditRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prev_hash: Buffer;
  hash: Buffer;
}

export function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Appends to the hash-chained audit trail. A change and its entry commit together (or neither does):
 * callers make the change inside `transaction()`, which the entry joins.
 */
@Injectable()
export class AuditLog {
  constructor(private readonly db: DataSource) {}

  /** Appends inside the transaction open on this call path (the change it records), else in its own. */
  async record(entry: AuditRecord): Promise<AuditEntry> {
    return transaction(this.db, (m) => this.append(entry, m));
  }

  private async append(entry: AuditRecord, m: EntityManager): Promise<AuditEntry> {
    await rows(m, 'SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const [last] = await rows<{ seq: string; hash: Buffer }>(m, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const prevHash = last?.hash ?? GENESIS_HASH;
    const content: AuditContent = {
      seq: last ? Number(last.seq) + 1 : 1,
      at: new Date().toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: entry.details ?? {},
    };
    const hash = entryHash(content, prevHash);
    await rows(m, `INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      content.seq,
      content.at,
      content.actor,
      content.action,
      content.target,
      content.details,
      prevHash,
      hash,
    ]);
    return { ...content, prevHash, hash };
  }

  async list(filter: {
    actor?: string;
    action?: string;
    target?: string;
    since?: string;
    until?: string;
    afterSeq?: number;
    limit: number;
  }): Promise<AuditEntry[]> {
    const found = await rows<AuditRow>(
      this.db,
      `SELECT * FROM audit_log
        WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR target = $3)
          AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5) AND seq > $6
        ORDER BY seq LIMIT $7`,
      [filter.actor ?? null, filter.action ?? null, filter.target ?? null, filter.since ?? null, filter.until ?? null, filter.afterSeq ?? 0, filter.limit],
    );
    return found.map(toEntry);
  }

  /**
   * Walks the whole chain from the first entry, a page at a time; stops at the first broken link.
   * A chain that holds link by link is then checked against each witnessed head (seen earlier,
   * kept outside the database), which exposes its newest entries removed.
   */
  async verify(witnesses: WitnessedHead[] = [], pageSize = 1000): Promise<ChainVerdict> {
    let previous: { seq: number; hash: Buffer } | null = null;
    let verified = 0;
    const hashes = new Map<number, Buffer>();
    for (;;) {
      const after: number = previous?.seq ?? 0;
      const found = await rows<AuditRow>(this.db, 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, pageSize]);
      const page: AuditEntry[] = found.map(toEntry);
      const broken = firstBrokenLink(page, previous);
      if (broken) {
        verified += page.findIndex((entry) => entry.seq === broken.seq);
        return { ok: false, verified, head: null, firstBroken: broken, witnesses };
      }
      for (const entry of page) if (witnesses.some((w) => w.seq === entry.seq)) hashes.set(entry.seq, entry.hash);
      verified += page.length;
      if (page.length > 0) previous = page[page.length - 1];
      if (page.length < pageSize) break;
    }
    const head = previous && { seq: previous.seq, hash: previous.hash.toString('hex') };
    for (const witnessed of witnesses) {
      const broken = checkAgainstWitness(head?.seq ?? 0, hashes.get(witnessed.seq) ?? null, witnessed);
      if (broken) return { ok: false, verified, head, firstBroken: broken, witnesses };
    }
    return { ok: true, verified, head, firstBroken: null, witnesses };
  }
}

export interface ChainVerdict {
  ok: boolean;
  /** Entries checked before the first broken link (all of them when ok). */
  verified: number;
  head: { seq: number; hash: string } | null;
  firstBroken: BrokenLink | null;
  /** The heads it was checked against (the witness file's last, and one given in the request). */
  witnesses: WitnessedHead[];
}
