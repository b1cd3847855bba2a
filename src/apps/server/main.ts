import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { loadConfig } from '../../adapters/config/config';
import { controlPlaneIdentity, createDataSource, runMigrations } from '../../adapters/postgres/data-source';
import { JsonLogger } from '../../adapters/logging/json-logger';

/** Brings the schema up to date (unless told not to) and returns this control plane's instance id and tag key. */
async function migrate(databaseUrl: string, apply: boolean): Promise<Awaited<ReturnType<typeof controlPlaneIdentity>>> {
  const dataSource = createDataSource(databaseUrl, 3);
  await dataSource.initialize();
  try {
    const applied = apply ? await runMigrations(dataSource) : [];
    if (applied.length) new Logger('migrations').log(`applied ${applied.join(', ')}`);
    return await controlPlaneIdentity(dataSource);
  } finally {
    await dataSource.destroy();
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
  const config = { ...loaded, ...(await migrate(loaded.databaseUrl, !cluster.isWorker)) };
  if (clustered && cluster.isPrimary) {
    (await import('./api-cluster')).superviseApiProcesses(loaded.http.processes);
    return;
  }
  const logger = new Logger('archipelago');
  if (role === 'worker') {
    const worker = await NestFactory.createApplicationContext(await AppModule.forRole('worker', config), { bufferLogs: false, logger: appLogger });
    worker.enableShutdownHooks();
    logger.log(`worker started; islands: ${config.islands.map((i) => i.connection.name).join(', ') || 'none'}`);
    return;
  }
  // The HTTP stack (Fastify, controllers, validation, OpenAPI) is loaded by the processes that serve it only.
  const url = await (await import('./api-server')).startApiServer(role, config, appLogger);
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
