import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { nodeIsUsable } from '../../core/placement/capacity';
import { Metrics } from '../../adapters/metrics/metrics';
import { CAPACITY_SOURCE, type CapacitySource } from '../../core/placement/capacity-source';

/** Scrapes come every 15-60 s from each Prometheus; one PostgreSQL round per this interval is plenty. */
const CACHE_MS = 5000;

interface Snapshot {
  jobs: Array<{ state: string; island: string; count: string }>;
  backlog: { depth: string; oldest_age: number | null };
  /** Usage outbox entries per status (PENDING, BROADCAST: not yet on chain). */
  outbox: Array<{ status: string; count: string; oldest_age: number | null }>;
  nodes: Array<{ name: string; island: string; state: string; age: number | null }>;
  islands: Array<{ island: string; reachable: boolean; values: Record<string, number> }>;
}

/**
 * Gauges read from the source of truth at scrape time: jobs by state and island, the dispatch
 * backlog and its oldest job, node heartbeat ages, island capacity. Computed once per CACHE_MS
 * however many gauges or scrapers ask; a failed read keeps the last values (and is logged) so a
 * database hiccup does not turn the whole /metrics answer into an error.
 */
@Injectable()
export class DomainMetrics {
  private readonly logger = new Logger(DomainMetrics.name);
  private cached: { at: number; snapshot: Promise<Snapshot> } | null = null;
  private last: Snapshot | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(CAPACITY_SOURCE) private readonly capacity: CapacitySource,
    metrics: Metrics,
  ) {
    const registers = [metrics.registry];
    const self = this;
    new Gauge({
      name: 'archipelago_jobs',
      help: 'Jobs by state and island (island "" before placement)',
      labelNames: ['state', 'island'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const row of s?.jobs ?? []) this.set({ state: row.state, island: row.island }, Number(row.count));
      },
    });
    new Gauge({
      name: 'archipelago_queue_depth',
      help: 'Jobs waiting in a queue; queue "dispatch": accepted, not yet handed to SLURM',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        if (s) this.set({ queue: 'dispatch' }, Number(s.backlog.depth));
      },
    });
    new Gauge({
      name: 'archipelago_usage_outbox',
      help: 'Usage records in the chain outbox by status (PENDING and BROADCAST are the backlog not yet on chain)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const row of s?.outbox ?? []) this.set({ status: row.status }, Number(row.count));
      },
    });
    new Gauge({
      name: 'archipelago_usage_outbox_oldest_age_seconds',
      help: 'Age of the oldest usage record still waiting for the chain (0 when none)',
      registers,
      async collect() {
        const s = await self.snapshot();
        if (!s) return;
        const waiting = s.outbox.filter((row) => row.status === 'PENDING' || row.status === 'BROADCAST');
        this.set(waiting.length ? Math.max(...waiting.map((row) => row.oldest_age ?? 0)) : 0);
      },
    });
    new Gauge({
      name: 'archipelago_queue_oldest_age_seconds',
      help: 'Age of the oldest job waiting in a queue (0 when empty)',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        if (s) this.set({ queue: 'dispatch' }, s.backlog.oldest_age ?? 0);
      },
    });
    new Gauge({
      name: 'archipelago_node_heartbeat_age_seconds',
      help: 'Seconds since each registered provider node last sent a heartbeat (since it joined, if never)',
      labelNames: ['node', 'island', 'state'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const node of s?.nodes ?? []) {
          if (node.age !== null) this.set({ node: node.name, island: node.island, state: node.state }, node.age);
        }
      },
    });
    new Gauge({
      name: 'archipelago_island_capacity',
      help: 'Island capacity from SLURM node records: nodes, usable_nodes, cpus, cpus_free, memory_mb, memory_free_mb, gpus, gpus_free, pending_jobs',
      labelNames: ['island', 'resource'] as const,
      registers,
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
    const [jobs, [backlog], nodes, capacity, outbox] = await Promise.all([
      this.db.query(`SELECT state, coalesce(island, '') AS island, count(*) AS count FROM jobs GROUP BY 1, 2`),
      this.db.query(
        `SELECT count(*) AS depth, extract(epoch FROM now() - min(submitted_at))::float8 AS oldest_age FROM jobs WHERE state = 'ACCEPTED'`,
      ),
      this.db.query(
        `SELECT name, coalesce(island, '') AS island, state,
                extract(epoch FROM now() - coalesce(last_heartbeat_at, created_at))::float8 AS age
           FROM nodes WHERE state <> 'DEREGISTERED'`,
      ),
      this.capacity.view(),
      this.db.query(
        `SELECT status, count(*) AS count, extract(epoch FROM now() - min(updated_at))::float8 AS oldest_age FROM usage_outbox GROUP BY status`,
      ),
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
