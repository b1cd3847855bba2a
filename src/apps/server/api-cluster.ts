import cluster, { type Worker } from 'node:cluster';
import { Logger } from '@nestjs/common';
import { aggregateMetrics, METRICS_COLLECT, METRICS_COLLECTED, METRICS_REQUEST, METRICS_RESPONSE } from '../../adapters/metrics/cluster-metrics';

/** A process that dies sooner than this after its start counts as a crash at start. */
const HEALTHY_AFTER_MS = 10_000;
/** This many crashes at start in a row mean the configuration is broken: the supervisor gives up. */
const MAX_CRASHES_AT_START = 5;
const GRACE_MS = 15_000;
/** A listening API process that does not hand over its metrics within this fails the scrape. */
const COLLECT_TIMEOUT_MS = 3_000;

type Collected = { type?: string; id?: number; metrics?: unknown[]; error?: string };

/**
 * The supervisor's side of a scrape: every listening API process hands over its registry and the
 * sum is the answer. A process still starting has served nothing and is left out; one that dies
 * meanwhile is left out too (its counts went with it); one that is alive but silent fails the scrape.
 */
class ClusterMetricsCollector {
  private readonly listening = new Set<number>();
  private readonly pending = new Map<number, { waiting: Set<number>; parts: unknown[]; finish: (error: Error | null) => void }>();
  private nextId = 0;

  listens(worker: Worker): void {
    this.listening.add(worker.id);
  }

  exited(worker: Worker): void {
    this.listening.delete(worker.id);
    for (const entry of this.pending.values()) if (entry.waiting.delete(worker.id) && entry.waiting.size === 0) entry.finish(null);
  }

  received(worker: Worker, message: Collected): void {
    const entry = this.pending.get(message.id ?? -1);
    if (!entry || !entry.waiting.delete(worker.id)) return;
    if (message.error !== undefined) return entry.finish(new Error(`API process ${worker.process.pid}: ${message.error}`));
    entry.parts.push(message.metrics);
    if (entry.waiting.size === 0) entry.finish(null);
  }

  collect(): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && this.listening.has(w.id));
      const timer = setTimeout(() => finish(new Error(`an API process did not hand over its metrics within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      const finish = (error: Error | null) => {
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(timer);
        if (error) reject(error);
        else aggregateMetrics(entry.parts as Parameters<typeof aggregateMetrics>[0]).then(resolve, reject);
      };
      this.pending.set(id, { waiting: new Set(workers.map((w) => w.id)), parts: [], finish });
      if (workers.length === 0) return finish(null);
      for (const worker of workers) worker.send({ type: METRICS_COLLECT, id });
    });
  }
}

/**
 * Supervises `count` API processes sharing one listening port (Node's cluster module; the primary
 * hands each new connection to the next process). It restarts a process that dies, gives up when
 * they keep dying right at start, answers their metrics requests with the sum over all of them
 * (one scrape sees the whole API, not whichever process took the connection), and on SIGTERM or
 * SIGINT stops them all gracefully before exiting itself.
 */
export function superviseApiProcesses(count: number): void {
  const logger = new Logger('api-cluster');
  const startedAt = new Map<number, number>();
  const metrics = new ClusterMetricsCollector();
  let crashesAtStart = 0;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };

  cluster.on('listening', (worker: Worker) => metrics.listens(worker));

  cluster.on('exit', (worker: Worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    metrics.exited(worker);
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

  cluster.on('message', (worker: Worker, message: Collected) => {
    if (message?.type === METRICS_COLLECTED) return metrics.received(worker, message);
    if (message?.type !== METRICS_REQUEST) return;
    metrics.collect().then(
      (body) => worker.send({ type: METRICS_RESPONSE, id: message.id, body }),
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
