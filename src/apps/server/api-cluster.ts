import cluster, { type Worker } from 'node:cluster';
import { Logger } from '@nestjs/common';
import { AggregatorRegistry } from 'prom-client';
import { METRICS_REQUEST, METRICS_RESPONSE } from '../../adapters/metrics/cluster-metrics';

/** A process that dies sooner than this after its start counts as a crash at start. */
const HEALTHY_AFTER_MS = 10_000;
/** This many crashes at start in a row mean the configuration is broken: the supervisor gives up. */
const MAX_CRASHES_AT_START = 5;
const GRACE_MS = 15_000;

/**
 * Supervises `count` API processes sharing one listening port (Node's cluster module; the primary
 * hands each new connection to the next process). It restarts a process that dies, gives up when
 * they keep dying right at start, answers their metrics requests with the sum over all of them
 * (one scrape sees the whole API, not whichever process took the connection), and on SIGTERM or
 * SIGINT stops them all gracefully before exiting itself.
 */
export function superviseApiProcesses(count: number): void {
  const logger = new Logger('api-cluster');
  const aggregator = new AggregatorRegistry();
  const startedAt = new Map<number, number>();
  let crashesAtStart = 0;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };

  cluster.on('exit', (worker: Worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    crashesAtStart = lived < HEALTHY_AFTER_MS ? crashesAtStart + 1 : 0;
    logger.error(`API process ${worker.process.pid} ended (${signal ?? `exit ${code}`}) after ${Math.round(lived / 1000)} s; starting another`);
    if (crashesAtStart >= MAX_CRASHES_AT_START) {
      logger.fatal?.(`API processes died at start ${crashesAtStart} times in a row; giving up`);
      process.exit(1);
    }
    fork();
  });

  cluster.on('message', (worker: Worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: METRICS_RESPONSE, id: message.id, body, contentType: aggregator.contentType }),
      (error: Error) => worker.send({ type: METRICS_RESPONSE, id: message.id, error: error.message }),
    );
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} API process(es)`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < count; i++) fork();
  logger.log(`supervising ${count} API processes`);
}
