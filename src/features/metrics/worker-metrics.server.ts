import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { bearerMatches } from './scrape-token';
import { Metrics } from '../../adapters/metrics/metrics';

/**
 * The worker has no HTTP API, so Prometheus scrapes it on a listener of its own (METRICS_PORT;
 * off when unset). Only GET /metrics is answered, with the same optional bearer token as the API.
 */
@Injectable()
export class WorkerMetricsServer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server: Server | null = null;

  constructor(
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const { port, bearerToken } = this.config.metrics;
    if (port === null) return;
    this.server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      if (bearerToken !== null && !bearerMatches(request.headers.authorization, bearerToken)) {
        response.writeHead(401, { 'content-type': 'text/plain' }).end('bearer token required\n');
        return;
      }
      this.metrics.render().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        (error) => {
          this.logger.error(`rendering metrics: ${(error as Error).message}`);
          response.writeHead(500).end();
        },
      );
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.http.host, () => resolve());
    });
    const address = server.address();
    this.logger.log(`metrics on http://${this.config.http.host}:${typeof address === 'object' && address ? address.port : port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
