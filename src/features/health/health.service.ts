import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReadinessRegistry } from '../../adapters/readiness/readiness-registry';
import { ISLAND_DIRECTORY, type IslandDirectory } from '../../adapters/slurm/island-directory';

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
    @Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory,
    private readonly registered: ReadinessRegistry,
  ) {}

  /** Every dependency checked in parallel, each within CHECK_TIMEOUT_MS; ready only if all answer. */
  async readiness() {
    const islands = this.islands.all();
    const extra = this.registered.all();
    const [postgres, islandResults, extraResults] = await Promise.all([
      check(() => this.db.query('SELECT 1')),
      Promise.all(
        islands.map((island) =>
          check(async () => {
            const ping = await island.slurm.ping();
            if (!ping.up) throw new Error(`controller ${ping.hostname} is not UP`);
          }),
        ),
      ),
      Promise.all(extra.map((c) => check(() => c.probe()))),
    ]);
    const islandChecks = Object.fromEntries(
      islands.map((island, i) => [island.settings.connection.name, { adapter: island.settings.connection.adapter, ...islandResults[i] }]),
    );
    const extraChecks = Object.fromEntries(extra.map((c, i) => [c.name, c.advisory ? { ...extraResults[i], advisory: true } : extraResults[i]]));
    const deciding = extraResults.filter((_, i) => !extra[i].advisory);
    const ready = [postgres, ...islandResults, ...deciding].every((c) => c.ok);
    return { ready, checks: { postgres, islands: islandChecks, ...extraChecks } };
  }
}
