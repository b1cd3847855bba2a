import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/auth.guard';
import { notFound } from '../common/problem';
import { CapacityService } from '../scheduling/capacity.service';
import { islandView } from './island-view';
import { IslandsRegistry } from './islands.registry';

/** The islands and their live capacity (from SLURM's node records, at most a few seconds old). */
@ApiTags('islands')
@ApiBearerAuth()
@RequireScopes('read')
@Controller('v1/islands')
export class IslandsController {
  constructor(
    private readonly islands: IslandsRegistry,
    private readonly capacity: CapacityService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every island: partitions, reachability, capacity totals and queue depth' })
  async list() {
    const view = await this.capacity.view();
    return {
      items: this.islands.all().map(({ settings }) => {
        const name = settings.connection.name;
        return islandView(settings, view.snapshot.islands.find((i) => i.name === name), !view.unknown.includes(name), false);
      }),
    };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One island with its nodes (state, free CPUs, memory, GPUs, features)' })
  async get(@Param('name') name: string) {
    const island = this.islands.get(name);
    if (!island) throw notFound(`island ${name}`);
    const view = await this.capacity.view();
    return islandView(island.settings, view.snapshot.islands.find((i) => i.name === name), !view.unknown.includes(name), true);
  }
}
