import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The operator's Prometheus metrics, on their own registry so tests and the benchmark can read them. */
export function operatorMetrics() {
  const registry = new Registry();
  return {
    registry,
    reconciles: new Counter({
      name: 'archipelago_operator_reconcile_total',
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'archipelago_operator_reconcile_duration_seconds',
      help: 'Reconcile duration by kind',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'archipelago_operator_workqueue_depth', help: 'Keys waiting in the work queue', registers: [registry] }),
    retries: new Counter({
      name: 'archipelago_operator_workqueue_retries_total',
      help: 'Keys requeued with backoff after a failure',
      labelNames: ['kind'],
      registers: [registry],
    }),
    apiWrites: new Counter({
      name: 'archipelago_operator_api_writes_total',
      help: 'Writes sent to the API server by verb',
      labelNames: ['verb', 'resource'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'archipelago_operator_leader', help: '1 while this replica holds the leader lease', registers: [registry] }),
  };
}

export type OperatorMetrics = ReturnType<typeof operatorMetrics>;
