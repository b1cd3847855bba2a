import { Client } from 'pg';

/** The stack's PostgreSQL as its superuser, on its `postgres` database: where suites and benchmarks create their own databases. */
export const PG_ADMIN_URL = process.env.ARCH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';

/** One statement on a connection of its own, closed afterwards even when the statement fails: its rows. */
export async function pgStatement<T = any>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** One statement on the admin database (DROP DATABASE ... WITH (FORCE), CREATE DATABASE ...). */
export async function adminStatement(text: string): Promise<void> {
  await pgStatement(PG_ADMIN_URL, text);
}

/** Database `name` dropped (sessions cut off) and created again, empty, on the server of `adminUrl`: its URL. */
export async function freshDatabase(name: string, adminUrl = PG_ADMIN_URL): Promise<string> {
  await pgStatement(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await pgStatement(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
