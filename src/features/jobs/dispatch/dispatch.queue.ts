import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { ReadinessRegistry } from '../../../adapters/readiness/readiness-registry';

export const DISPATCH_QUEUE = 'dispatch';

export interface DispatchPayload {
  jobIds: string[];
}

/**
 * At most one queue entry per this interval (or per BATCH_SIZE jobs): a job accepted after a quiet
 * spell is enqueued at once, while under load each entry gathers the jobs accepted meanwhile, so
 * Redis, the worker and its claim and record statements pay per batch, not per job.
 */
const FLUSH_INTERVAL_MS = 20;
export const BATCH_SIZE = 200;
/** An accept must not hang on a Redis outage: the row is committed, the reconciler catches up. */
const ENQUEUE_TIMEOUT_MS = 1000;

function withTimeout<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Hands accepted jobs to the dispatch workers, in batches: one queue entry carries up to
 * BATCH_SIZE job ids, so Redis and the worker pay per batch, not per job. Entries are work
 * reminders, not the work itself: every job row is committed before it is enqueued, a duplicate
 * entry is harmless (the dispatcher's lease lets one dispatch through), and a lost one is
 * replaced by the reconciler, which re-enqueues every job still waiting in PostgreSQL.
 */
@Injectable()
export class DispatchQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DispatchQueue.name);
  private gathered: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = 0;

  constructor(
    @InjectQueue(DISPATCH_QUEUE) private readonly queue: Queue<DispatchPayload>,
    private readonly readiness: ReadinessRegistry,
  ) {}

  /** Readiness includes Redis: without it accepted jobs wait for the reconciler. */
  onModuleInit(): void {
    this.readiness.register({ name: 'redis', probe: async () => void (await ((await this.queue.client) as unknown as { ping(): Promise<string> }).ping()) });
  }

  /** Adds the job to the next batch; returns at once (the caller's row is already committed). */
  enqueueSoon(jobId: string): void {
    this.gathered.push(jobId);
    if (this.gathered.length >= BATCH_SIZE) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), Math.max(0, this.lastFlush + FLUSH_INTERVAL_MS - Date.now()));
  }

  /** Enqueues now, `delayMs` from now at the earliest; false when Redis did not take them. */
  async enqueue(jobIds: string[], delayMs = 0): Promise<boolean> {
    if (jobIds.length === 0) return true;
    try {
      await withTimeout(
        ENQUEUE_TIMEOUT_MS,
        this.queue.addBulk(
          chunks(jobIds, BATCH_SIZE).map((batch) => ({
            name: 'dispatch',
            data: { jobIds: batch },
            opts: { delay: delayMs, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
          })),
        ),
      );
      return true;
    } catch (error) {
      this.logger.warn(`could not enqueue ${jobIds.length} job(s), the reconciler will: ${(error as Error).message}`);
      return false;
    }
  }

  /** Entries not yet taken by a worker: while there are some, waiting jobs are probably in them. */
  async backlog(): Promise<number> {
    return this.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastFlush = Date.now();
    const batch = this.gathered;
    this.gathered = [];
    await this.enqueue(batch);
  }
}
