import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** An API process asks the supervisor for the cluster's metrics. */
export const METRICS_REQUEST = 'archipelago:metrics-request';
export const METRICS_RESPONSE = 'archipelago:metrics-response';
/** The supervisor asks each API process for its own metrics. */
export const METRICS_COLLECT = 'archipelago:metrics-collect';
export const METRICS_COLLECTED = 'archipelago:metrics-collected';
const TIMEOUT_MS = 6_000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

/** True in an API process started by the cluster supervisor (see apps/server/api-cluster.ts). */
export function inApiCluster(): boolean {
  return cluster.isWorker;
}

/** Answers the supervisor's collection requests with this process's registry. */
export function shareWithSupervisor(registry: Registry): void {
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_COLLECT) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: METRICS_COLLECTED, id: message.id, metrics }),
      (error: Error) => process.send?.({ type: METRICS_COLLECTED, id: message.id, error: error.message }),
    );
  });
}

/** Sums the registries of the API processes (counters and histograms added, gauges by their aggregator). */
export function aggregateMetrics(parts: MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate(parts).metrics();
}

export const CLUSTER_CONTENT_TYPE = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;

let nextId = 0;

/** The metrics of every API process of the cluster, summed by the supervisor. */
export function clusterMetrics(): Promise<{ contentType: string; body: string }> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: MetricsResponse) => {
      if (message?.type !== METRICS_RESPONSE || message.id !== id) return;
      done();
      if (message.error !== undefined || message.body === undefined) reject(new Error(`cluster metrics: ${message.error ?? 'no body'}`));
      else resolve({ contentType: CLUSTER_CONTENT_TYPE, body: message.body });
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
