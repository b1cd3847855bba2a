import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Island } from '../../adapters/slurm/island-directory';
import { APP_CONFIG } from '../../adapters/config/config.module';
import type { AppConfig } from '../../adapters/config/config';
import { DEFAULT_TENANT_RULES, type IslandSettings } from '../../adapters/config/islands-file';
import type { TenantAccountPolicy } from '../../core/slurm/posix-user';
import { TenantAccounts, TenantCheckedSlurmClient } from '../../adapters/slurm/tenant-accounts';
import { repeatEvery } from '../../core/common/repeat';
import type { SecretBox } from '../../adapters/secrets/secret-box';
import { allowedRootsFor } from '../../core/jobs/path-policy';
import { createFileAccess, createSlurmClient, type LocalReadBounds } from '../../adapters/slurm/slurm-adapters';
import { WorkLimiter } from '../../core/common/work-limiter';
import { InstrumentedSlurmClient } from '../../adapters/metrics/instrumented-slurm-client';
import { Metrics } from '../../adapters/metrics/metrics';
import type { IslandProfile } from '../../core/placement/capacity';
import { IslandRow, IslandsRepository } from './islands.repository';
import { ISLAND_MEMBERSHIP, type IslandMembership, type MemberProfile } from '../../core/islands/island-membership';
import { islandJwtContext, SECRET_BOX } from './secrets';

/** An island is as fast as its slowest member for tightly coupled work. */
function profileOf(row: IslandRow, members: MemberProfile | undefined): IslandProfile {
  return {
    tier: row.tier,
    boundMs: row.bound_ms,
    regions: members?.regions ?? [],
    providers: members?.providers ?? [],
    performanceClass: members?.allHigh ? 'high' : 'low',
  };
}

/** An island's read account is a service's too: a tenant mapped to it could read every queue as it. */
export function tenantPolicyOf(settings: IslandSettings): TenantAccountPolicy {
  return { minUid: settings.tenants.minUid, deniedUsers: new Set([...settings.tenants.deniedUsers, settings.connection.readUser]) };
}

/** How often every process picks up islands the topology loop launched or retired. */
const SYNC_INTERVAL_MS = 2000;

/**
 * The islands this control plane drives, each with its SLURM adapter and file access: those of the
 * islands file, fixed at start, plus those the topology loop launched (read from PostgreSQL, their
 * JWT keys unsealed here and only here).
 */
@Injectable()
export class IslandsRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IslandsRegistry.name);
  private readonly islands = new Map<string, Island>();
  private partitionNames: ReadonlySet<string> | null = null;
  private stopSync: (() => void) | null = null;
  private readonly localReads: LocalReadBounds;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
    @Optional() private readonly repository?: IslandsRepository,
    @Optional() @Inject(SECRET_BOX) private readonly secrets?: SecretBox | null,
    @Optional() @Inject(ISLAND_MEMBERSHIP) private readonly membership?: IslandMembership,
  ) {
    const reads = config.jobs.outputReads;
    this.localReads = { limiter: new WorkLimiter({ total: reads.concurrency, perKey: reads.perUser }), timeoutMs: reads.timeoutMs };
    for (const settings of config.islands) this.add(settings, 'file');
  }

  onApplicationBootstrap(): void {
    if (!this.repository) return;
    this.stopSync = repeatEvery(
      SYNC_INTERVAL_MS,
      () => this.sync(),
      (error) => this.logger.warn(`island sync failed: ${error.message}`),
    );
  }

  all(): Island[] {
    return [...this.islands.values()];
  }

  get(name: string): Island | undefined {
    return this.islands.get(name);
  }

  /** Every partition some island offers. */
  partitions(): ReadonlySet<string> {
    this.partitionNames ??= new Set(this.all().flatMap((island) => island.settings.partitions));
    return this.partitionNames;
  }

  /** Every island's service accounts: a tenant may be mapped to none of them. */
  deniedTenantUsers(): ReadonlySet<string> {
    return new Set(this.all().flatMap((island) => [...island.tenants.policy.deniedUsers]));
  }

  /** Working-directory roots are per island; a job is checked against the first island's until placed. */
  workdirRoots(): string[] {
    return this.all()[0]?.settings.workdirRoots ?? ['/home/{user}'];
  }

  async transitioning(): Promise<boolean> {
    return (await this.repository?.anyInTransition()) ?? false;
  }

  /** Adds launched islands and drops retired ones; returns the names that changed. */
  async sync(): Promise<string[]> {
    if (!this.repository) return [];
    const [active, members] = await Promise.all([this.repository.active(), this.membership?.memberProfiles() ?? new Map<string, MemberProfile>()]);
    const changed: string[] = [];
    const wanted = new Set(active.map((row) => row.name));
    for (const row of active) {
      const existing = this.islands.get(row.name);
      if (existing?.origin === 'file') continue;
      if (existing && existing.settings.connection.rest?.url === row.rest_url) {
        existing.profile = profileOf(row, members.get(row.name));
        continue;
      }
      const settings = this.settingsOf(row);
      if (!settings) continue;
      if (existing) await existing.slurm.close();
      this.add(settings, 'topology', profileOf(row, members.get(row.name)));
      changed.push(row.name);
    }
    for (const island of this.all()) {
      if (island.origin === 'topology' && !wanted.has(island.settings.connection.name)) {
        this.islands.delete(island.settings.connection.name);
        await island.slurm.close();
        changed.push(island.settings.connection.name);
      }
    }
    if (changed.length) {
      this.partitionNames = null;
      this.logger.log(
        `islands now: ${this.all()
          .map((i) => i.settings.connection.name)
          .join(', ')}`,
      );
    }
    return changed;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopSync?.();
    await Promise.allSettled(this.all().map((island) => island.slurm.close()));
  }

  private add(settings: IslandSettings, origin: Island['origin'], profile?: IslandProfile): void {
    const name = settings.connection.name;
    const adapter = createSlurmClient(settings.connection);
    const roots = (user: string) => allowedRootsFor(user, settings.workdirRoots);
    const access = createFileAccess(settings, adapter, roots, this.localReads);
    const tenants = new TenantAccounts(name, tenantPolicyOf(settings), access.accounts);
    const slurm = new InstrumentedSlurmClient(new TenantCheckedSlurmClient(adapter, tenants, access.close), name, this.metrics);
    this.islands.set(name, { settings, slurm, tenants, files: access.files, origin, profile });
  }

  /** Opens the island's sealed JWT key; one sealed with an old envelope key is re-sealed with the current one. */
  private openJwtKey(row: IslandRow): Buffer {
    const context = islandJwtContext(row.name);
    const key = this.secrets!.open(row.jwt_key_sealed!, context);
    if (this.secrets!.isStale(row.jwt_key_sealed!)) {
      this.repository!.resealJwtKey(row.name, this.secrets!.seal(key, context)).catch((error) =>
        this.logger.warn(`re-sealing the key of ${row.name} failed: ${(error as Error).message}`),
      );
    }
    return key;
  }

  private settingsOf(row: IslandRow): IslandSettings | null {
    if (!row.rest_url || !row.jwt_key_sealed) return null;
    if (!this.secrets) {
      this.logger.warn(`island ${row.name} is launched but no ARCHIPELAGO_SECRETS_KEY_FILE is configured to open its key`);
      return null;
    }
    const partitions = row.partitions.length ? row.partitions : ['debug'];
    return {
      connection: {
        name: row.name,
        adapter: 'rest',
        readUser: 'archipelago',
        rest: {
          url: row.rest_url,
          jwtKey: this.openJwtKey(row),
          tokenLifetimeSeconds: 120,
          connections: 8,
          timeoutMs: 15000,
        },
      },
      partitions,
      defaultPartition: partitions[0],
      workdirRoots: ['/home/{user}'],
      files: 'local',
      // Launched islands have no slurmdbd yet, so no accounting-based usage records.
      accounting: false,
      tenants: DEFAULT_TENANT_RULES,
    };
  }
}
