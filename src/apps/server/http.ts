import { INestApplication, Logger } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { installJsonBodyParser } from '../../adapters/http/json-body';
import { Problem } from '../../core/common/problem';
import { ProblemFilter, toProblem } from '../../adapters/http/problem.filter';
import { createValidationPipe } from '../../adapters/http/validation';
import { installHttpLogging } from '../../adapters/logging/http-logging';
import { installHttpMetrics } from '../../adapters/metrics/http-metrics';
import { Metrics } from '../../adapters/metrics/metrics';
import { buildOpenApiDocument } from './openapi';
import { installWebUi } from './web-ui';

/** Everything the HTTP API needs besides its modules: problem+json everywhere, validation, docs. */
export function configureHttp(app: INestApplication): void {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  installHttpLogging(fastify);
  installHttpMetrics(fastify, app.get(Metrics));
  const { http } = app.get<symbol, AppConfig>(APP_CONFIG);
  installJsonBodyParser(fastify, { scriptBodyBytes: http.bodyLimitBytes, bodyBytes: http.smallBodyLimitBytes });
  // Errors raised by Fastify itself (body parsing, size limits) never reach Nest's filters.
  fastify.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    let problem = toProblem(error);
    if (!problem && status >= 400 && status < 500) problem = new Problem(status, 'Invalid request', (error as Error).message, { field: 'body' });
    if (!problem) {
      // Fastify's own logger is off; ours carries the request id and redacts.
      new Logger('http').error(error);
      problem = new Problem(500, 'Internal error', 'the request failed on our side');
    }
    reply.status(problem.status).type('application/problem+json').send(problem.toBody());
  });
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalPipes(createValidationPipe());
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });
  installWebUi(fastify);
}
