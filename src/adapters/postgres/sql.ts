import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { openTransaction } from './transactions';

type Queryable = DataSource | EntityManager;

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs `work` on the transaction's query runner when `db` is a transaction's manager or a
 * transaction is open on this call path (`transaction()`), otherwise on one taken from the pool
 * for it and given back after.
 */
async function withRunner<T>(db: Queryable, work: (runner: QueryRunner, inTransaction: boolean) => Promise<T>): Promise<T> {
  const manager = 'manager' in db ? (openTransaction() ?? db.manager) : db;
  const inTransaction = manager.queryRunner !== undefined;
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    return await work(runner, inTransaction);
  } finally {
    if (!inTransaction) await runner.release();
  }
}

/**
 * Rows of any statement, including UPDATE ... RETURNING (TypeORM's raw `query` answers those with
 * `[rows, count]`, a shape that is easy to misread).
 */
export function rows<T = Record<string, unknown>>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return withRunner(db, async (runner) => (await runner.query(sql, params, true)).records as T[]);
}

/** Bumped when a prepared statement's plan went stale: every statement is prepared again under new names. */
let generation = 0;

/** "cached plan must not change result type": a migration changed a table under a prepared `*`. */
const STALE_PLAN = '0A000';

/**
 * `rows` for the hot statements (a job's insert and claim), as named prepared statements:
 * PostgreSQL parses and plans each once per connection instead of on every call (the job insert:
 * about 300 → 100 µs of backend CPU, measured). `name` must be unique to `sql`. Only for
 * statements whose plan does not depend on their parameters: after five runs PostgreSQL may keep
 * a generic plan, which for a join against `unnest($1)` assumes 100 rows (measured: the record
 * statements went from 0.05 and 0.9 ms to 6.6 and 3 ms). Outside a transaction, a plan made stale
 * by a migration is prepared again once; inside one the error stands (the transaction is aborted anyway).
 */
export function preparedRows<T = Record<string, unknown>>(db: Queryable, name: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withRunner(db, async (runner, inTransaction) => {
    const client = (await runner.connect()) as PgClient;
    const run = async () => (await client.query({ name: `${name}#${generation}`, text: sql, values: params })).rows as T[];
    try {
      return await run();
    } catch (error) {
      if (inTransaction || (error as { code?: string }).code !== STALE_PLAN) throw error;
      generation++;
      return run();
    }
  });
}
