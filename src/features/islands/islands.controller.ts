import { Inject, Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../../adapters/http/access';
import { notFound } from '../../core/common/problem';
import { ISLAND_NAME } from '../../adapters/config/islands-file';
import { formationView, islandView } from './island-view';
import { IslandRow, IslandsRepository } from './islands.repository';
import { IslandsRegistry } from './islands.registry';
import { Island } from '../../adapters/slurm/island-directory';
import { CAPACITY_SOURCE, type CapacitySource, type CapacityView } from '../../core/placement/capacity-source';
import { ISLAND_MEMBERSHIP, type IslandMembership } from '../../core/islands/island-membership';

/**
 * The islands and their live capacity (from SLURM's node records, at most a few seconds old); islands
 * the topology formed also show their tier, bound, proven diameter, members and launch state.
 */
@ApiTags('islands')
@ApiBearerAuth()
@RequireScopes('read')
@Controller('v1/islands')
export class IslandsController {
  constructor(
    private readonly islands: IslandsRegistry,
    private readonly formed: IslandsRepository,
    @Inject(CAPACITY_SOURCE) private readonly capacity: CapacitySource,
    @Inject(ISLAND_MEMBERSHIP) private readonly membership: IslandMembership,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every island: partitions, reachability, capacity totals, queue depth and, if formed from latency, tier and diameter' })
  async list() {
    const [view, rows, members] = await Promise.all([this.capacity.view(), this.formed.live(), this.membership.membersByIsland()]);
    const byName = new Map(rows.map((row) => [row.name, row]));
    const running = this.islands.all().map((island) => this.describe(island, view, byName.get(island.settings.connection.name), members, false));
    const launching = rows
      .filter((row) => !this.islands.get(row.name))
      .map((row) => ({ name: row.name, origin: 'topology', reachable: false, formation: formationView(row, members.get(row.name) ?? []) }));
    return { items: [...running, ...launching] };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One island with its nodes (state, free CPUs, memory, GPUs, features)' })
  async get(@Param('name') name: string) {
    if (!ISLAND_NAME.test(name)) throw notFound(`island ${name}`);
    const island = this.islands.get(name);
    const row = await this.formed.find(name);
    const members = await this.membership.membersByIsland();
    if (!island) {
      if (!row || row.state === 'RETIRED') throw notFound(`island ${name}`);
      return { name, origin: 'topology', reachable: false, formation: formationView(row, members.get(name) ?? []) };
    }
    return this.describe(island, await this.capacity.view(), row ?? undefined, members, true);
  }

  private describe(island: Island, view: CapacityView, row: IslandRow | undefined, members: Map<string, string[]>, withNodes: boolean) {
    const name = island.settings.connection.name;
    return {
      ...islandView(
        island.settings,
        view.snapshot.islands.find((i) => i.name === name),
        !view.unknown.includes(name),
        withNodes,
      ),
      origin: island.origin,
      ...(row ? { formation: formationView(row, members.get(name) ?? []) } : {}),
    };
  }
}
