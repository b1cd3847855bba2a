import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../adapters/http/access';
import { Problem } from '../../core/common/problem';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { Metrics } from '../../adapters/metrics/metrics';
import { bearerMatches } from './scrape-token';

/**
 * Prometheus scrape endpoint. Open by default (it carries counts, never job contents or
 * identities beyond node names); with ARCHIPELAGO_METRICS_TOKEN set it wants that bearer token.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply) {
    const token = this.config.metrics.bearerToken;
    if (token !== null && !bearerMatches(authorization, token)) {
      throw new Problem(401, 'Unauthorized', 'the metrics endpoint needs the configured bearer token');
    }
    const { contentType, body } = await this.metrics.render();
    reply.status(200).header('Content-Type', contentType).send(body);
  }
}
