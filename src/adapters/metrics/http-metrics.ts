import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics';

/**
 * Counts and times every response by its route template (`/v1/jobs/:id`, never the raw URL, so
 * job ids cannot explode the number of series). Requests that matched no route share "unmatched".
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: Metrics): void {
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched' };
    metrics.httpRequests.inc({ ...labels, status: String(reply.statusCode) });
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
}
