import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { DrainNodeDto, LatencyQuery, ListNodesQuery } from './nodes.dto';
import { NodesService } from './nodes.service';

/**
 * Provider nodes. Provider admins (scope `provider`) see and manage only their own: another
 * provider's node is a 404, like one that does not exist. Platform admins (scope `admin`) see all.
 */
@ApiTags('nodes')
@ApiBearerAuth()
@Controller('v1')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get('nodes')
  @ApiOperation({ summary: 'Nodes by name, with cursor pagination (state, providerId, after, limit)' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListNodesQuery) {
    return this.nodes.list(principal, { ...query, limit: query.limit ?? 100 });
  }

  @Get('nodes/:id')
  @ApiOperation({ summary: 'One node: state, inventory, tags, capacity, last heartbeat' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.nodes.get(principal, id);
  }

  @Post('nodes/:id/drain')
  @HttpCode(200)
  @ApiOperation({ summary: 'Drain a node (no new work); the reason is kept until it is resumed' })
  drain(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: DrainNodeDto) {
    return this.nodes.drain(principal, id, body.reason);
  }

  @Post('nodes/:id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a drained node' })
  resume(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.nodes.resume(principal, id);
  }

  @Delete('nodes/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deregister a node (final; its agent is answered 410 and must join again)' })
  deregister(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.nodes.deregister(principal, id);
  }

  @Get('latency')
  @ApiOperation({ summary: 'Measured RTTs among nodes: samples and a matrix (rows: from, columns: to)' })
  latency(@CurrentPrincipal() principal: Principal, @Query() query: LatencyQuery) {
    return this.nodes.latency(principal, query.nodes);
  }
}
