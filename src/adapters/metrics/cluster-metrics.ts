import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

export const METRICS_REQUEST = 'archipelago:metrics-request';
export const METRICS_RESPONSE = 'archipelago:metrics-response';
const TIMEOUT_MS = 6_000;

interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: number;
  body?: string;
  contentType?: string;
  error?: string;
}

/** True in an API process started by the cluster supervisor (see apps/server/api-cluster.ts). */
export function inApiCluster(): boolean {
  return cluster.isWorker;
}

/**
 * Lets the supervisor read this process's registry. prom-client answers the supervisor's
 * requests only once an AggregatorRegistry exists in the process, hence the unused one.
 */
export function shareWithSupervisor(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
}

let nextId = 0;

/** The metrics of every API process of the cluster, summed by the supervisor. */
export function clusterMetrics(): Promise<{ contentType: string; body: string }> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: MetricsResponse) => {
      if (message?.type !== METRICS_RESPONSE || message.id !== id) return;
      done();
      if (message.error !== undefined || message.body === undefined) reject(new Error(`cluster metrics: ${message.error ?? 'no body'}`));
      else resolve({ contentType: message.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', body: message.body });
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('cluster metrics: the supervisor did not answer'));
    }, TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id });
  });
}
