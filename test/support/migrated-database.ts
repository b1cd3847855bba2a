import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../src/adapters/postgres/data-source';

export const ADMIN_URL = process.env.ARCH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';

/** A database created afresh (dropped first) with every migration, for suites that talk to PostgreSQL directly. */
export async function migratedDatabase(name: string, poolSize = 8): Promise<{ db: DataSource; url: string }> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDataSource(url.toString(), poolSize);
  await db.initialize();
  await runMigrations(db);
  return { db, url: url.toString() };
}
