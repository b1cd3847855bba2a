import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { RewardsQuery } from './usage.dto';
import { UsageService } from './usage.service';

@ApiTags('usage')
@ApiBearerAuth()
@Controller('v1')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get('jobs/:id/usage')
  @RequireScopes('read')
  @ApiOperation({ summary: "One of your jobs' signed usage record (metrics per node and run, bill, reward split), or why it is not there yet" })
  jobUsage(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.usage.jobUsage(principal, id);
  }

  @Get('rewards')
  @ApiOperation({ summary: 'Rewards by epoch and beneficiary; provider admins see their own (provider and node lines), platform admins all' })
  rewards(@CurrentPrincipal() principal: Principal, @Query() query: RewardsQuery) {
    return this.usage.rewards(principal, query);
  }
}
