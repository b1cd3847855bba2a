import type { DataSource } from 'typeorm';
import { OPEN_STATUSES, type OutboxOutcome, settledColumns } from '../../core/common/outbox-state';
import { rows } from './sql';

/** An outbox table: `status`, `tx_hash`, `last_error`, `attempts`, `next_attempt_at`, `updated_at`, keyed by `key`. */
export interface OutboxTable {
  name: string;
  key: string;
  /** SQL type of the key, for arrays of keys (`bigint`). */
  keyType: string;
  /** Which due entries go first when more are due than a lease takes. */
  order: string;
  /** The table records each entry's position in its transaction (`tx_message_index`). */
  messageIndex: boolean;
}

const OPEN = OPEN_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * The one writer of an outbox table's state: entries added under a unique key, leased with
 * SKIP LOCKED so two drainers never hand the same entry out at once, journaled as broadcast before
 * sending, and settled by the state machine in core/common/outbox-state.ts. Statements join the
 * transaction open on the call path (an entry added with the record it reports commits with it).
 */
export class Outbox {
  constructor(
    private readonly db: DataSource,
    private readonly table: OutboxTable,
    private readonly maxBackoffSeconds: number,
  ) {}

  /** Adds an entry; false when one with the same unique key exists already. */
  async add(values: Record<string, unknown>, uniqueKey?: string): Promise<boolean> {
    const columns = Object.keys(values);
    const placeholders = columns.map((_, i) => `$${i + 1}`);
    const conflict = uniqueKey ? ` ON CONFLICT (${uniqueKey}) DO NOTHING` : '';
    const added = await rows(
      this.db,
      `INSERT INTO ${this.table.name} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})${conflict} RETURNING 1`,
      Object.values(values),
    );
    return added.length > 0;
  }

  /**
   * Leases up to `limit` due open entries for `leaseSeconds` (a crashed drainer's come back after
   * it) and returns them as `returning` selects from `o` (the outbox row) and any `join`ed tables.
   */
  lease<T>(limit: number, leaseSeconds: number, returning: string, join?: { from: string; on: string }): Promise<T[]> {
    const { name, key } = this.table;
    return rows<T>(
      this.db,
      `WITH due AS (
         SELECT ${key} FROM ${name} WHERE status IN (${OPEN}) AND next_attempt_at <= now()
          ORDER BY ${this.table.order} LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE ${name} o SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1, updated_at = now()
         FROM due${join ? `, ${join.from}` : ''}
        WHERE o.${key} = due.${key}${join ? ` AND ${join.on}` : ''}
       RETURNING ${returning}`,
      [limit, leaseSeconds],
    );
  }

  /** Journals a send before it happens: these entries went out in the transaction `txHash`, in this order. */
  async markBroadcast(keys: string[], txHash: string): Promise<void> {
    const { name, key, keyType, messageIndex } = this.table;
    await rows(
      this.db,
      `UPDATE ${name} o SET status = 'BROADCAST', tx_hash = $2,${messageIndex ? ' tx_message_index = k.ord - 1,' : ''} updated_at = now()
         FROM unnest($1::${keyType}[]) WITH ORDINALITY AS k(id, ord)
        WHERE o.${key} = k.id AND o.status IN (${OPEN})`,
      [keys, txHash],
    );
  }

  /** Moves an open entry by its outcome (a final one never changes); `extra` columns are set too (a committed message's response). */
  async settle(id: string, attempts: number, outcome: OutboxOutcome, extra: Record<string, unknown> = {}): Promise<void> {
    const { next_attempt_in, ...columns } = settledColumns(outcome, attempts, this.maxBackoffSeconds);
    const values: Record<string, unknown> = { ...columns, ...extra };
    const sets = Object.keys(values).map((column, i) => `${column} = $${i + 2}`);
    if (next_attempt_in !== undefined) sets.push(`next_attempt_at = now() + make_interval(secs => $${sets.length + 2})`);
    const params = [id, ...Object.values(values), ...(next_attempt_in !== undefined ? [next_attempt_in] : [])];
    await rows(
      this.db,
      `UPDATE ${this.table.name} SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE ${this.table.key} = $1 AND status IN (${OPEN})`,
      params,
    );
  }

  /** Open entries matching `where` (over this table's columns, parameters from $1) become SUPERSEDED. */
  async supersede(where: string, params: unknown[]): Promise<void> {
    await rows(this.db, `UPDATE ${this.table.name} SET status = 'SUPERSEDED', updated_at = now() WHERE (${where}) AND status IN (${OPEN})`, params);
  }
}
