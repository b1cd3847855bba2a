import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { repeatEvery } from '../../../core/common/repeat';
import type { SecretBox } from '../../../adapters/secrets/secret-box';
import type { AppConfig } from '../../../adapters/config/config';
import { APP_CONFIG } from '../../../adapters/config/config.module';
import { EMPTY_STABILITY_STATE, StabilityState, stableIslands, TopologyResult } from '../../../core/topology';
import { ISLAND_LAUNCHER, IslandLauncher } from '../../../core/islands/island-launcher.port';
import { IslandRow, IslandsRepository, IslandShape, RELEASED } from '../islands.repository';
import { IslandsRegistry } from '../islands.registry';
import { islandJwtContext, SECRET_BOX } from '../secrets';
import { ISLAND_MEMBERSHIP, type IslandMembership } from '../../../core/islands/island-membership';
import { FormationNode } from '../../../core/islands/formation-node';
import { hardTagsOf, memberSpec } from '../../../core/islands/island-members';
import { islandsToRetire, NodePosition, nodeSteps, NodeStep } from '../../../core/islands/island-plan';
import { transaction } from '../../../adapters/postgres/transactions';
import { AUDIT_TRAIL, type AuditTrail } from '../../../core/audit/audit-trail';
import { CAPACITY_SOURCE, type CapacitySource } from '../../../core/placement/capacity-source';
import { onePassUnderLock } from '../../../adapters/postgres/advisory-lock';

/** One formation loop across all workers. */
const FORMATION_LOCK = 7_641_250_001;
/** Who launches and retires islands, as the audit trail names it. */
const FORMATION_ACTOR = 'system:island-formation';
/** Measurements older than this no longer count (the pair is unknown again). */
const SAMPLE_MAX_AGE_SECONDS = 3600;
/** States whose nodes are grouped; a silent (STALE) node keeps its place until it is OFFLINE. */
const GROUPED = new Set(['ACTIVE', 'DRAINING', 'STALE']);

export interface FormationReport {
  islands: number;
  created: string[];
  steps: NodeStep[];
  failed: Array<{ step: NodeStep | { kind: 'launch' | 'retire'; island: string }; error: string }>;
  retired: string[];
}

function shapeOf({ id, members: _members, kept: _kept, ...shape }: TopologyResult['islands'][number]): IslandShape {
  return { ...shape, topologyId: id };
}

/**
 * Worker role: groups provider nodes into latency-bounded islands (src/core/topology) and makes SLURM match.
 * Each pass: group from fresh measurements, keep previous islands where the bounds allow (busy nodes
 * never move), launch a SLURM cluster for every new island, then join, drain, resume and remove nodes
 * so each island's SLURM holds exactly its members. Every step is recorded in PostgreSQL once done.
 */
@Injectable()
export class IslandFormationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IslandFormationService.name);
  private stop: (() => void) | null = null;
  private launchedThisRun = new Set<string>();
  /** Optional changes waiting to persist, and the churn of the last hour (in memory: a restart starts over). */
  private stability: StabilityState = EMPTY_STABILITY_STATE;

  constructor(
    private readonly db: DataSource,
    @Inject(ISLAND_MEMBERSHIP) private readonly formation: IslandMembership,
    private readonly islands: IslandsRepository,
    private readonly registry: IslandsRegistry,
    @Inject(CAPACITY_SOURCE) private readonly capacity: CapacitySource,
    @Inject(ISLAND_LAUNCHER) private readonly launcher: IslandLauncher,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = repeatEvery(
      this.config.topology.intervalMs,
      () => this.pass(),
      (error) => this.logger.warn(`island formation failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** One pass, if no other worker is running one. */
  async pass(): Promise<FormationReport | null> {
    return onePassUnderLock(this.db, FORMATION_LOCK, () => this.formIslands());
  }

  private async formIslands(): Promise<FormationReport> {
    const report: FormationReport = { islands: 0, created: [], steps: [], failed: [] as FormationReport['failed'], retired: [] };
    const nodes = await this.formation.nodes();
    let live = await this.islands.live();
    const result = await this.group(nodes, live);
    report.islands = result.islands.length;

    // Islands the grouping dropped give their topology id up (a new island may take it) and empty out.
    const resultIds = new Set(result.islands.map((island) => island.id));
    for (const row of live) {
      if (!resultIds.has(row.topology_id)) await this.islands.releaseTopologyId(row.name);
    }
    live = await this.islands.live();
    const byTopologyId = new Map(live.map((row) => [row.topology_id, row]));
    for (const island of result.islands) {
      const row = byTopologyId.get(island.id);
      if (row) {
        await this.islands.updateShape(row.name, shapeOf(island));
      } else {
        const created = await this.islands.create(this.config.topology.namePrefix, this.launcher.kind, shapeOf(island));
        byTopologyId.set(island.id, created);
        report.created.push(created.name);
        this.logger.log(`new ${island.tier} island ${created.name}: ${island.members.join(', ')} (diameter ≤ ${island.diameterMs.toFixed(2)} ms)`);
      }
    }
    const desired = new Map<string, string>();
    for (const island of result.islands) for (const member of island.members) desired.set(member, byTopologyId.get(island.id)!.name);
    await this.formation.setDesired(desired);
    await this.formation.setRequestedProbes(this.probesByNode(result));

    const launched = await this.launch(await this.islands.live(), report);
    const positions: NodePosition[] = nodes.map((node) => ({
      name: node.name,
      state: node.state,
      desired: desired.get(node.name) ?? null,
      slurmIsland: node.slurm_island,
      slurmDrained: node.slurm_drained,
    }));
    const byName = new Map(nodes.map((node) => [node.name, node]));
    for (const step of nodeSteps(positions, launched)) {
      try {
        await this.apply(step, byName.get(step.node)!);
        report.steps.push(step);
      } catch (error) {
        report.failed.push({ step, error: (error as Error).message });
        this.logger.warn(`${step.kind} ${step.node} on ${step.island} failed: ${(error as Error).message}`);
      }
    }
    const after = await this.formation.nodes();
    const positionsAfter = after.map((node) => ({
      name: node.name,
      state: node.state,
      desired: node.island,
      slurmIsland: node.slurm_island,
      slurmDrained: node.slurm_drained,
    }));
    const liveNames = (await this.islands.live()).map((row) => row.name);
    for (const name of islandsToRetire(liveNames, positionsAfter)) {
      try {
        await this.islands.setState(name, 'RETIRING');
        await this.launcher.retireIsland(name);
        await transaction(this.db, async (m) => {
          await this.islands.setState(name, 'RETIRED', null, m);
          await this.audit.record({ actor: FORMATION_ACTOR, action: 'island.retire', target: `island:${name}`, details: { reason: 'no members left' } });
        });
        report.retired.push(name);
        this.logger.log(`island ${name} retired: no members left`);
      } catch (error) {
        report.failed.push({ step: { kind: 'retire', island: name }, error: (error as Error).message });
      }
    }
    await this.registry.sync();
    return report;
  }

  private async group(nodes: FormationNode[], live: IslandRow[]): Promise<TopologyResult> {
    const grouped = nodes.filter((node) => GROUPED.has(node.state));
    const samples = await this.formation.samples(
      grouped.map((node) => node.id),
      SAMPLE_MAX_AGE_SECONDS,
    );
    const busy = await this.busyNodes();
    const topologyIdOf = new Map(live.map((row) => [row.name, row.topology_id]));
    const { tiers, minIslandSize, confirmRounds, maxChurnPerHour } = this.config.topology;
    const now = Date.now();
    const step = stableIslands(
      {
        nodes: grouped.map((node) => ({
          id: node.name,
          tags: node.tags,
          hardTags: hardTagsOf(node, this.config.topology.hardTags),
          // A drained or silent node stays where it is: moving it would only disturb its jobs.
          busy: busy.has(node.name) || node.state !== 'ACTIVE',
          currentIsland: node.island ? topologyIdOf.get(node.island) : undefined,
        })),
        samples: samples.map((s) => ({
          a: s.from_name,
          b: s.to_name,
          rttMs: s.rtt_ms ?? Number.MAX_VALUE,
          loss: s.loss,
          measuredAt: s.measured_at.getTime(),
        })),
        tiers,
        previous: live
          .filter((row) => !row.topology_id.startsWith(RELEASED))
          .map((row) => ({ id: row.topology_id, tier: row.tier, anchor: row.anchor ?? undefined, waypoints: row.waypoints })),
        options: { minIslandSize, nowMs: now, staleAfterMs: SAMPLE_MAX_AGE_SECONDS * 1000 },
      },
      this.stability,
      now,
      { confirmRounds, maxChurnPerHour },
    );
    this.stability = step.state;
    if (step.heldBack > 0)
      this.logger.log(`${step.heldBack} island change(s) wait to persist (${confirmRounds} passes in a row, at most ${maxChurnPerHour} moves an hour)`);
    return step.result;
  }

  /**
   * Nodes that must not move, from the capacity snapshot (no job listing): those with work
   * allocated now, and every member of an island with jobs queued in its SLURM (moving members away
   * could leave a queued job without the nodes it was placed for).
   */
  private async busyNodes(): Promise<Set<string>> {
    const { snapshot } = await this.capacity.view();
    const busy = new Set<string>();
    for (const island of snapshot.islands) {
      const queued = island.queue.pendingJobs > 0;
      for (const node of island.nodes) if (queued || node.cpusFree < node.cpus) busy.add(node.name);
    }
    return busy;
  }

  private probesByNode(result: TopologyResult): Map<string, string[]> {
    const requests = new Map<string, string[]>();
    for (const probe of result.probeRequests) requests.set(probe.a, [...(requests.get(probe.a) ?? []), probe.b]);
    return requests;
  }

  /** Starts (or, after a restart, re-checks) each live island's SLURM; returns the islands ready for nodes. */
  private async launch(live: IslandRow[], report: FormationReport): Promise<Set<string>> {
    const ready = new Set<string>();
    for (const row of live) {
      if (row.state === 'RETIRING') continue;
      if (row.state === 'ACTIVE' && this.launchedThisRun.has(row.name)) {
        ready.add(row.name);
        continue;
      }
      try {
        const launched = await this.launcher.ensureIsland({
          name: row.name,
          tier: row.tier,
          boundMs: row.bound_ms,
          partitions: row.partitions,
          keepState: row.state === 'ACTIVE',
        });
        await transaction(this.db, async (m) => {
          await this.islands.markLaunched(
            row.name,
            {
              restUrl: launched.restUrl,
              jwtKeySealed: this.secrets.seal(launched.jwtKey, islandJwtContext(row.name)),
              partitions: launched.partitions,
            },
            m,
          );
          // A re-check after a restart is not a launch.
          if (row.state !== 'ACTIVE') {
            await this.audit.record({
              actor: FORMATION_ACTOR,
              action: 'island.launch',
              target: `island:${row.name}`,
              details: { tier: row.tier, boundMs: row.bound_ms, partitions: launched.partitions, restUrl: launched.restUrl },
            });
          }
        });
        this.launchedThisRun.add(row.name);
        ready.add(row.name);
      } catch (error) {
        await this.islands.recordError(row.name, (error as Error).message);
        report.failed.push({ step: { kind: 'launch', island: row.name }, error: (error as Error).message });
        this.logger.warn(`launching island ${row.name} failed: ${(error as Error).message}`);
      }
    }
    return ready;
  }

  private async apply(step: NodeStep, node: FormationNode): Promise<void> {
    switch (step.kind) {
      case 'join':
        await this.launcher.joinNode(step.island, memberSpec(node));
        if (step.drained) await this.launcher.setDrained(step.island, step.node, true, 'drained');
        await this.formation.recordSlurm(step.node, step.island, step.drained);
        this.logger.log(`node ${step.node} joined ${step.island}${step.drained ? ' (drained)' : ''}`);
        return;
      case 'leave': {
        // Never waits here for jobs to end: the node stays drained and the next pass tries again.
        const left = await this.launcher.removeNode(step.island, step.node, { reason: step.reason, timeoutMs: 1000, force: step.force });
        await this.formation.recordSlurm(step.node, left ? null : step.island, true);
        this.logger.log(
          left ? `node ${step.node} removed from ${step.island}: ${step.reason}` : `node ${step.node} draining on ${step.island} before it leaves`,
        );
        return;
      }
      case 'drain':
      case 'resume':
        await this.launcher.setDrained(step.island, step.node, step.kind === 'drain', step.reason);
        await this.formation.recordSlurm(step.node, step.island, step.kind === 'drain');
        this.logger.log(`node ${step.node} ${step.kind === 'drain' ? 'drained' : 'resumed'} on ${step.island}: ${step.reason}`);
    }
  }
}
