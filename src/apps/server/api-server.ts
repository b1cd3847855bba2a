import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../../adapters/config/config';
import { clientErrorAsProblem, frameworkErrorAsProblem } from '../../adapters/http/framework-errors';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { configureHttp } from './http';

/** Starts the HTTP server of the `api` (or `all`) role; loaded only by processes that serve HTTP. */
export async function startApiServer(role: 'api' | 'all', config: AppConfig, dataSource: DataSource, appLogger: LoggerService | undefined): Promise<string> {
  const app = await NestFactory.create<NestFastifyApplication>(
    await AppModule.forRole(role, config, dataSource),
    new FastifyAdapter({
      bodyLimit: config.http.bodyLimitBytes,
      trustProxy: config.http.trustProxy,
      frameworkErrors: frameworkErrorAsProblem,
      clientErrorHandler: clientErrorAsProblem,
    }),
    // Bodies are read by our own JSON parser (configureHttp): per-route limits, bounded depth.
    { logger: appLogger, bodyParser: false },
  );
  configureHttp(app);
  app.enableShutdownHooks();
  await app.listen(config.http.port, config.http.host);
  return `http://${config.http.host}:${config.http.port}`;
}
