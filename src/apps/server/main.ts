import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { loadConfig } from '../../adapters/config/config';
import { controlPlaneIdentity, createDataSource, runMigrations } from '../../adapters/postgres/data-source';
import { JsonLogger } from '../../adapters/logging/json-logger';

/**
 * Opens the database, brings the schema up to date (unless told not to) and reads this control
 * plane's instance id and tag key. The connection pool is the one the application then runs on:
 * one pool set up at boot, not one for the migrations and another for Nest.
 */
async function openDatabase(
  databaseUrl: string,
  apply: boolean,
): Promise<{ dataSource: DataSource; identity: Awaited<ReturnType<typeof controlPlaneIdentity>> }> {
  const dataSource = createDataSource(databaseUrl);
  await dataSource.initialize();
  try {
    const applied = apply ? await runMigrations(dataSource) : [];
    if (applied.length) new Logger('migrations').log(`applied ${applied.join(', ')}`);
    return { dataSource, identity: await controlPlaneIdentity(dataSource) };
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
}

async function main(): Promise<void> {
  const loaded = loadConfig();
  // Installed before anything logs, so even migration messages are structured and redacted.
  let appLogger: LoggerService | undefined;
  if (loaded.logging.format === 'json') {
    appLogger = new JsonLogger(loaded.logging.level);
    Logger.overrideLogger(appLogger);
  }
  const role = (process.argv[2] as typeof loaded.role | undefined) ?? loaded.role;
  if (!['api', 'worker', 'all'].includes(role)) throw new Error(`unknown role ${role}: api, worker or all`);
  if (role !== 'api' && loaded.http.processes > 1) throw new Error(`ARCHIPELAGO_API_PROCESSES applies to the api role only, not ${role}`);
  const clustered = role === 'api' && loaded.http.processes > 1;
  // The supervisor brings the schema up to date once; its API processes only read the identity.
  const { dataSource, identity } = await openDatabase(loaded.databaseUrl, !cluster.isWorker);
  const config = { ...loaded, ...identity };
  if (clustered && cluster.isPrimary) {
    await dataSource.destroy();
    (await import('./api-cluster')).superviseApiProcesses(loaded.http.processes);
    return;
  }
  const logger = new Logger('archipelago');
  if (role === 'worker') {
    const worker = await NestFactory.createApplicationContext(await AppModule.forRole('worker', config, dataSource), { bufferLogs: false, logger: appLogger });
    worker.enableShutdownHooks();
    logger.log(`worker started; islands: ${config.islands.map((i) => i.connection.name).join(', ') || 'none'}`);
    return;
  }
  // The HTTP stack (Fastify, controllers, validation, OpenAPI) is loaded by the processes that serve it only.
  const url = await (await import('./api-server')).startApiServer(role, config, dataSource, appLogger);
  logger.log(`${role} listening on ${url} (docs at /docs)`);
}

/**
 * Failures outside Nest (a bad configuration before the logger is installed, an exception nothing
 * caught) are logged like everything else: one JSON object per line, unless text was asked for.
 */
function fatal(what: string, error: unknown): void {
  const logger = process.env.ARCHIPELAGO_LOG_FORMAT === 'text' ? new Logger('archipelago') : new JsonLogger();
  logger.fatal?.(
    { msg: `${what}: ${error instanceof Error ? error.message : String(error)}`, stack: error instanceof Error ? error.stack : undefined },
    'archipelago',
  );
}

process.on('uncaughtException', (error) => {
  fatal('uncaught exception', error);
  process.exit(1);
});
// Node's own default for an unhandled rejection is to end the process; it still does, logged first.
process.on('unhandledRejection', (reason) => {
  fatal('unhandled promise rejection', reason);
  process.exit(1);
});

main().catch((error) => {
  fatal('archipelago failed to start', error);
  process.exit(1);
});
