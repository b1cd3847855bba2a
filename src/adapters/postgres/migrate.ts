import 'reflect-metadata';
import { loadConfig } from '../config/config';
import { createDataSource, runMigrations } from './data-source';

async function main(): Promise<void> {
  const dataSource = createDataSource(loadConfig().databaseUrl, 3);
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
