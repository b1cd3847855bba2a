import type { DataSource, EntityManager } from 'typeorm';

type Queryable = DataSource | EntityManager;

/**
 * Rows of any statement, including UPDATE ... RETURNING (TypeORM's raw `query` answers those with
 * `[rows, count]`, a shape that is easy to misread).
 */
export async function rows<T = Record<string, unknown>>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  const manager = 'manager' in db ? db.manager : db;
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return result.records as T[];
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}
