import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CapacityView } from '../../../core/placement/capacity-source';
import type { IslandSettings } from '../../../adapters/config/islands-file';
import { JobsRepository } from '../jobs.repository';
import type { SlurmNodeRecord } from '../../../core/slurm/slurm-client.port';
import type { CapacitySnapshot, IslandCapacity, IslandProfile, QueueDepth } from '../../../core/placement/capacity';
import { nodeFromSlurm } from '../../../core/placement/capacity-refresh';
import { ISLAND_DIRECTORY, type IslandDirectory } from '../../../adapters/slurm/island-directory';
import type { SubmitFeature } from '../../../core/sbatch/submit-features';

/** How old a snapshot may be before placement refreshes it. */
export const CAPACITY_MAX_AGE_MS = 2000;
/** Runtime assumed for pending jobs without a time limit when estimating queue depth. */
const DEFAULT_RUNTIME_MINUTES = 60;

/**
 * An island's capacity from its configuration, SLURM's node records and our queue depth. Only
 * nodes in at least one of the island's configured partitions count (a record without partitions
 * counts). The configured partitions are the island's partitions, the default one marked; their
 * limits are left to SLURM (unknown here). A configured island is one site (tight tier, bound 0); an island
 * formed from latency brings its tier, bound, regions, providers and performance class (`profile`).
 */
export function islandCapacity(
  settings: IslandSettings,
  nodes: SlurmNodeRecord[],
  queue: QueueDepth,
  profile?: IslandProfile,
  unsendable?: readonly SubmitFeature[],
): IslandCapacity {
  const partitions = new Set(settings.partitions);
  return {
    name: settings.connection.name,
    tier: profile?.tier ?? 'tight',
    boundMs: profile?.boundMs ?? 0,
    regions: profile?.regions ?? [],
    providers: profile?.providers ?? [],
    performanceClass: profile?.performanceClass ?? 'standard',
    pricePerCoreHour: 0,
    benchmarkScore: 1,
    partitions: settings.partitions.map((name) => ({ name, maxTimeMinutes: null, maxNodes: null, isDefault: name === settings.defaultPartition })),
    nodes: nodes
      .filter((n) => n.partitions.length === 0 || n.partitions.some((p) => partitions.has(p)))
      .map((n) =>
        nodeFromSlurm({
          name: n.name,
          state: n.state,
          state_flags: n.stateFlags,
          cpus: n.cpus,
          alloc_cpus: n.allocCpus,
          idle_cpus: n.idleCpus,
          real_memory: n.realMemoryMb,
          alloc_memory: n.allocMemoryMb,
          gres: n.gres,
          gres_used: n.gresUsed,
          active_features: n.activeFeatures.join(','),
          features: n.features.join(','),
        }),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    queue,
    ...(unsendable?.length ? { unsendable } : {}),
  };
}

/**
 * The capacity snapshot placement decides on, per island: refreshed lazily when asked and older
 * than CAPACITY_MAX_AGE_MS, with one node listing per island and one queue-depth query for all
 * (never a job listing). Concurrent callers share one refresh. An island whose nodes cannot be
 * read keeps its last known nodes.
 */
@Injectable()
export class CapacityService {
  private readonly logger = new Logger(CapacityService.name);
  private current: { at: number; view: CapacityView } | null = null;
  private refreshing: Promise<CapacityView> | null = null;
  private readonly lastNodes = new Map<string, SlurmNodeRecord[]>();
  /** What each island's way of submitting cannot send, as its client last said (the REST API version is found at the first call). */
  private readonly unsendable = new Map<string, readonly SubmitFeature[]>();

  constructor(
    @Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory,
    private readonly jobs: JobsRepository,
  ) {}

  /** Epoch ms (replaceable in tests). */
  clock: () => number = () => Date.now();

  async view(): Promise<CapacityView> {
    if (this.current && this.clock() - this.current.at < CAPACITY_MAX_AGE_MS) return this.current.view;
    if (!this.refreshing) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * The latest view without waiting for SLURM once there is one (a stale view starts a refresh in
   * the background and is answered meanwhile), for callers that must not hang on an island that
   * is slow to answer, such as a submission. Only the first call waits.
   */
  async recent(): Promise<CapacityView> {
    if (!this.current) return this.view();
    if (this.clock() - this.current.at >= CAPACITY_MAX_AGE_MS) {
      this.view().catch((error) => this.logger.warn(`capacity refresh failed: ${(error as Error).message}`));
    }
    return this.current.view;
  }

  private async refresh(): Promise<CapacityView> {
    // Islands launched or retired since the registry's last periodic sync count from this snapshot on.
    await this.islands.sync().catch((error) => this.logger.warn(`island sync failed: ${(error as Error).message}`));
    const islands = this.islands.all();
    const [queues, nodes] = await Promise.all([
      this.jobs.pendingQueues(DEFAULT_RUNTIME_MINUTES),
      Promise.all(
        islands.map(async ({ settings, slurm }) => {
          const name = settings.connection.name;
          try {
            const records = await slurm.listNodes();
            this.lastNodes.set(name, records);
            this.unsendable.set(name, await slurm.unsendable());
            return records;
          } catch (error) {
            this.logger.warn(`island ${name}: cannot list nodes: ${(error as Error).message}`);
            return this.lastNodes.get(name) ?? null;
          }
        }),
      ),
    ]);
    const at = this.clock();
    const unknown = islands.filter((_, i) => nodes[i] === null).map((island) => island.settings.connection.name);
    const snapshot: CapacitySnapshot = {
      takenAtMs: at,
      islands: islands.map(({ settings, profile }, i) =>
        islandCapacity(
          settings,
          nodes[i] ?? [],
          queues.get(settings.connection.name) ?? { pendingJobs: 0, pendingCpuSeconds: 0 },
          profile,
          this.unsendable.get(settings.connection.name),
        ),
      ),
    };
    const view = { snapshot, unknown };
    this.current = { at, view };
    return view;
  }
}
