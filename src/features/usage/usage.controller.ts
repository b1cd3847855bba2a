import { Body, Controller, Get, Param, ParseUUIDPipe, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes, CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { invalid } from '../../core/common/problem';
import { BudgetService } from './budget.service';
import { RewardsQuery, SetBudgetDto } from './usage.dto';
import { UsageService } from './usage.service';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => invalid('id', 'must be a UUID') });

@ApiTags('usage')
@ApiBearerAuth()
@Controller('v1')
export class UsageController {
  constructor(
    private readonly usage: UsageService,
    private readonly budgets: BudgetService,
  ) {}

  @Put('principals/:id/budget')
  @RequireScopes('admin')
  @ApiOperation({ summary: "Set a tenant's monthly budget (platform admins)" })
  setBudget(@Param('id', uuid) id: string, @Body() body: SetBudgetDto) {
    return this.budgets.setBudget(id, body.monthlyLimit, body.denom);
  }

  @Get('principals/:id/budget')
  @ApiOperation({ summary: 'A budget and what is spent and reserved this month (the principal itself, or a platform admin)' })
  budget(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string) {
    return this.budgets.view(principal, id);
  }

  @Get('jobs/:id/usage')
  @RequireScopes('read')
  @ApiOperation({ summary: "One of your jobs' signed usage record (metrics per node and run, bill, reward split), or why it is not there yet" })
  jobUsage(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.usage.jobUsage(principal, id);
  }

  @Get('rewards/jobs/:id')
  @ApiOperation({ summary: "One job's reward lines (platform, providers, nodes); a provider admin sees its own lines, platform admins all" })
  jobRewards(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.usage.jobRewards(principal, id);
  }

  @Get('rewards')
  @ApiOperation({ summary: 'Rewards by epoch and beneficiary; provider admins see their own (provider and node lines), platform admins all' })
  rewards(@CurrentPrincipal() principal: Principal, @Query() query: RewardsQuery) {
    return this.usage.rewards(principal, query);
  }
}
