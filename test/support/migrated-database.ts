import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../src/adapters/postgres/data-source';
import { freshDatabase } from './postgres';

/** A database created afresh (dropped first) with every migration, for suites that talk to PostgreSQL directly. */
export async function migratedDatabase(name: string, poolSize = 8): Promise<{ db: DataSource; url: string }> {
  const url = await freshDatabase(name);
  const db = createDataSource(url, poolSize);
  await db.initialize();
  await runMigrations(db);
  return { db, url };
}
