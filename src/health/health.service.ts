import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { IslandsRegistry } from '../clusters/islands.registry';
import { DISPATCH_QUEUE } from '../dispatch/dispatch.queue';

const CHECK_TIMEOUT_MS = 2000;

async function check(work: () => Promise<unknown>): Promise<{ ok: boolean; detail?: string; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return { ok: false, detail: (error as Error).message, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class HealthService {
  constructor(
    private readonly db: DataSource,
    private readonly islands: IslandsRegistry,
    @InjectQueue(DISPATCH_QUEUE) private readonly queue: Queue,
  ) {}

  async readiness() {
    const [postgres, redis, ...islands] = await Promise.all([
      check(() => this.db.query('SELECT 1')),
      check(async () => ((await this.queue.client) as unknown as { ping(): Promise<string> }).ping()),
      ...this.islands.all().map((island) =>
        check(async () => {
          const ping = await island.slurm.ping();
          if (!ping.up) throw new Error(`controller ${ping.hostname} is not UP`);
        }),
      ),
    ]);
    const islandChecks = Object.fromEntries(this.islands.all().map((island, i) => [island.settings.connection.name, islands[i]]));
    const ready = postgres.ok && redis.ok && islands.every((c) => c.ok);
    return { ready, checks: { postgres, redis, islands: islandChecks } };
  }
}
