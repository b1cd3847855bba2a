import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import type { IslandSettings } from '../config/islands-file';
import { allowedRootsFor } from '../jobs/path-policy';
import type { JobFiles } from '../slurm/job-files.port';
import type { SlurmClient } from '../slurm/slurm-client.port';
import { createJobFiles, createSlurmClient } from '../slurm/slurm-adapters';
import { InstrumentedSlurmClient } from '../metrics/instrumented-slurm-client';
import { Metrics } from '../metrics/metrics';

export interface Island {
  settings: IslandSettings;
  slurm: SlurmClient;
  files: JobFiles;
}

/** The islands this control plane drives, each with its SLURM adapter and file access. */
@Injectable()
export class IslandsRegistry implements OnApplicationShutdown {
  private readonly islands = new Map<string, Island>();
  private partitionNames: ReadonlySet<string> | null = null;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: Metrics) {
    for (const settings of config.islands) {
      const slurm = new InstrumentedSlurmClient(createSlurmClient(settings.connection), settings.connection.name, metrics);
      const roots = (user: string) => allowedRootsFor(user, settings.workdirRoots);
      this.islands.set(settings.connection.name, { settings, slurm, files: createJobFiles(settings, slurm, roots) });
    }
  }

  all(): Island[] {
    return [...this.islands.values()];
  }

  get(name: string): Island | undefined {
    return this.islands.get(name);
  }

  /** Every partition some island offers (fixed at start: the islands file is read once). */
  partitions(): ReadonlySet<string> {
    this.partitionNames ??= new Set(this.all().flatMap((island) => island.settings.partitions));
    return this.partitionNames;
  }

  /** Working-directory roots are per island; a job is checked against the first island's until placed. */
  workdirRoots(): string[] {
    return this.all()[0]?.settings.workdirRoots ?? ['/home/{user}'];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.all().map((island) => island.slurm.close()));
  }
}
