import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { nodeIsUsable } from '../../core/placement/capacity';
import { Metrics } from '../../adapters/metrics/metrics';
import { CAPACITY_SOURCE, type CapacitySource } from '../../core/placement/capacity-source';
import { JOB_STATS, type JobStats, NODE_HEARTBEATS, type NodeHeartbeats, USAGE_OUTBOX_STATS, type UsageOutboxStats } from '../../core/common/domain-stats';

/** Scrapes come every 15-60 s from each Prometheus; one PostgreSQL round per this interval is plenty. */
const CACHE_MS = 5000;

interface Snapshot {
  jobs: Awaited<ReturnType<JobStats['countsByStateAndIsland']>>;
  backlog: Awaited<ReturnType<JobStats['dispatchBacklog']>>;
  /** Usage outbox entries per status (PENDING, BROADCAST: not yet on chain). */
  outbox: Awaited<ReturnType<UsageOutboxStats['outboxByStatus']>>;
  nodes: Awaited<ReturnType<NodeHeartbeats['heartbeatAges']>>;
  islands: Array<{ island: string; reachable: boolean; values: Record<string, number> }>;
}

/**
 * Gauges read from the source of truth at scrape time, each through its owner's named queries
 * (jobs by state and island, the dispatch backlog and its oldest job, node heartbeat ages, the
 * usage outbox, island capacity). Computed once per CACHE_MS
 * however many gauges or scrapers ask; a failed read keeps the last values (and is logged) so a
 * database hiccup does not turn the whole /metrics answer into an error.
 */
@Injectable()
export class DomainMetrics {
  private readonly logger = new Logger(DomainMetrics.name);
  private cached: { at: number; snapshot: Promise<Snapshot> } | null = null;
  private last: Snapshot | null = null;

  constructor(
    @Inject(JOB_STATS) private readonly jobs: JobStats,
    @Inject(NODE_HEARTBEATS) private readonly nodes: NodeHeartbeats,
    @Inject(USAGE_OUTBOX_STATS) private readonly outbox: UsageOutboxStats,
    @Inject(CAPACITY_SOURCE) private readonly capacity: CapacitySource,
    metrics: Metrics,
  ) {
    const registers = [metrics.registry];
    // Every API process reads the same database: a cluster's scrape reports one process's reading, not their sum.
    const aggregator = 'first' as const;
    // prom-client calls collect() with the gauge as `this`; the queries are this service's.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'archipelago_jobs',
      help: 'Jobs by state and island (island "" before placement)',
      labelNames: ['state', 'island'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const row of s?.jobs ?? []) this.set({ state: row.state, island: row.island }, row.count);
      },
    });
    new Gauge({
      name: 'archipelago_queue_depth',
      help: 'Jobs waiting in a queue; queue "dispatch": accepted, not yet handed to SLURM',
      labelNames: ['queue'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        if (s) this.set({ queue: 'dispatch' }, s.backlog.depth);
      },
    });
    new Gauge({
      name: 'archipelago_usage_outbox',
      help: 'Usage records in the chain outbox by status (PENDING and BROADCAST are the backlog not yet on chain)',
      labelNames: ['status'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const row of s?.outbox ?? []) this.set({ status: row.status }, row.count);
      },
    });
    new Gauge({
      name: 'archipelago_usage_outbox_oldest_age_seconds',
      help: 'Age of the oldest usage record still waiting for the chain (0 when none)',
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        if (!s) return;
        const waiting = s.outbox.filter((row) => row.status === 'PENDING' || row.status === 'BROADCAST');
        this.set(waiting.length ? Math.max(...waiting.map((row) => row.oldestAgeSeconds ?? 0)) : 0);
      },
    });
    new Gauge({
      name: 'archipelago_queue_oldest_age_seconds',
      help: 'Age of the oldest job waiting in a queue (0 when empty)',
      labelNames: ['queue'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        if (s) this.set({ queue: 'dispatch' }, s.backlog.oldestAgeSeconds ?? 0);
      },
    });
    new Gauge({
      name: 'archipelago_node_heartbeat_age_seconds',
      help: 'Seconds since each registered provider node last sent a heartbeat (since it joined, if never)',
      labelNames: ['node', 'island', 'state'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const node of s?.nodes ?? []) {
          if (node.ageSeconds !== null) this.set({ node: node.name, island: node.island, state: node.state }, node.ageSeconds);
        }
      },
    });
    new Gauge({
      name: 'archipelago_island_capacity',
      help: 'Island capacity from SLURM node records: nodes, usable_nodes, cpus, cpus_free, memory_mb, memory_free_mb, gpus, gpus_free, pending_jobs',
      labelNames: ['island', 'resource'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const island of s?.islands ?? []) {
          for (const [resource, value] of Object.entries(island.values)) this.set({ island: island.island, resource }, value);
        }
      },
    });
    new Gauge({
      name: 'archipelago_island_reachable',
      help: '1 when the island answered its last capacity read, else 0',
      labelNames: ['island'] as const,
      registers,
      aggregator,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const island of s?.islands ?? []) this.set({ island: island.island }, island.reachable ? 1 : 0);
      },
    });
  }

  private async snapshot(): Promise<Snapshot | null> {
    if (!this.cached || Date.now() - this.cached.at > CACHE_MS) {
      this.cached = { at: Date.now(), snapshot: this.read() };
    }
    try {
      this.last = await this.cached.snapshot;
    } catch (error) {
      this.logger.warn(`metrics: reading the database failed: ${(error as Error).message}`);
      this.cached = null;
    }
    return this.last;
  }

  private async read(): Promise<Snapshot> {
    const [jobs, backlog, nodes, capacity, outbox] = await Promise.all([
      this.jobs.countsByStateAndIsland(),
      this.jobs.dispatchBacklog(),
      this.nodes.heartbeatAges(),
      this.capacity.view(),
      this.outbox.outboxByStatus(),
    ]);
    const islands = capacity.snapshot.islands.map((island) => {
      const usable = island.nodes.filter((n) => nodeIsUsable(n.state));
      const sum = (pick: (n: (typeof usable)[number]) => number) => usable.reduce((t, n) => t + pick(n), 0);
      const gpus = usable.flatMap((n) => n.gpus);
      return {
        island: island.name,
        reachable: !capacity.unknown.includes(island.name),
        values: {
          nodes: island.nodes.length,
          usable_nodes: usable.length,
          cpus: sum((n) => n.cpus),
          cpus_free: sum((n) => n.cpusFree),
          memory_mb: sum((n) => n.memoryMb),
          memory_free_mb: sum((n) => n.memoryFreeMb),
          gpus: gpus.reduce((t, g) => t + g.total, 0),
          gpus_free: gpus.reduce((t, g) => t + g.free, 0),
          pending_jobs: island.queue.pendingJobs,
        },
      };
    });
    return { jobs, backlog, nodes, islands, outbox };
  }
}
