import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { clusterMetrics, inApiCluster, shareWithSupervisor } from './cluster-metrics';

/**
 * A gauge one process sets (the worker that follows the chain): an API cluster's scrape reports the
 * value (aggregator `max`), not a sum of it with the zeros of processes that never set it.
 */
function oneWriterGauge<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry], aggregator: 'max' });
}

/**
 * This process's Prometheus registry and the metrics every role records into. One registry per
 * process (not prom-client's global one) so tests and the `all` role never see each other's
 * series twice. Metrics read from PostgreSQL live in DomainMetrics (API role only).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'archipelago_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'archipelago_http_request_duration_seconds',
    help: 'Time from request to response, by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly slurmCallDuration = new Histogram({
    name: 'archipelago_slurm_call_duration_seconds',
    help: 'SLURM calls (slurmrestd or SSH) by island, operation and outcome (ok, rejected, unavailable, error)',
    labelNames: ['island', 'operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly slurmCallErrors = new Counter({
    name: 'archipelago_slurm_call_errors_total',
    help: 'SLURM calls that failed, by island, operation and kind (rejected: SLURM refused; unavailable: unreachable; error: anything else)',
    labelNames: ['island', 'operation', 'kind'] as const,
    registers: [this.registry],
  });

  readonly dispatchLatency = new Histogram({
    name: 'archipelago_dispatch_latency_seconds',
    help: 'From a job being accepted to SLURM holding it (submitted and recorded), by island',
    labelNames: ['island'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });

  readonly dispatchOutcomes = new Counter({
    name: 'archipelago_dispatch_outcomes_total',
    help: 'What dispatch did with a claimed job: submitted, recovered (found in SLURM from an earlier attempt), rejected, cancelled, deferred (dependencies), retry (island unreachable)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly chainJobRecordsReadable = oneWriterGauge(
    this.registry,
    'archipelago_chain_job_records_readable',
    "1 when the chain node served x/hpc's job records (store query) at the last read, 0 when it refused (chain ingress and job reports wait)",
  );

  readonly chainGasPrice = oneWriterGauge(
    this.registry,
    'archipelago_chain_gas_price',
    'Gas price (per unit, fee denom) of the last decision: kind="chain_minimum" the chain asked, kind="paid" what we signed at',
    ['kind'] as const,
  );

  readonly chainGasPriceHeld = new Counter({
    name: 'archipelago_chain_gas_price_held_total',
    help: "Transactions not signed because the chain's minimum gas price was above CHAIN_GAS_PRICE_MAX (they wait and retry)",
    registers: [this.registry],
  });

  readonly chainReconciliation = oneWriterGauge(
    this.registry,
    'archipelago_chain_reconciliation',
    'Usage records the chain took, by what the chain holds at the last reconciliation (matched, missing_on_chain, state_differs, record_differs, no_reward_on_chain, reward_differs)',
    ['outcome'] as const,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    if (inApiCluster()) shareWithSupervisor(this.registry);
  }

  /** This process's metrics; in an API cluster, those of all its processes. */
  async render(): Promise<{ contentType: string; body: string }> {
    if (inApiCluster()) return clusterMetrics();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

export type DispatchOutcomeLabel = 'submitted' | 'recovered' | 'rejected' | 'cancelled' | 'deferred' | 'retry';
