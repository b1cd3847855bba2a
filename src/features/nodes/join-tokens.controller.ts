import { Inject, Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { CreateJoinTokenDto, ListJoinTokensQuery } from './nodes.dto';
import { JoinTokensService } from './join-tokens.service';
import { MfaHeaders, PresentedMfa } from '../../adapters/http/mfa-headers';
import { MfaProof } from '../../core/identity/mfa-proof';
import { STEP_UP_GATE, type StepUpGate } from '../../core/identity/gates';

/**
 * Join tokens for provider machines. Provider admins (scope `provider`) manage their own; platform
 * admins (scope `admin`) any provider's. Access is checked in the service (either scope will do).
 */
@ApiTags('nodes')
@ApiBearerAuth()
@Controller('v1/join-tokens')
export class JoinTokensController {
  constructor(
    private readonly tokens: JoinTokensService,
    @Inject(STEP_UP_GATE) private readonly mfa: StepUpGate,
  ) {}

  @Post()
  @MfaHeaders()
  @ApiOperation({ summary: 'Create a join token (shown once): expiresInSeconds ≤ 7 days (default 1 h), maxUses 1-1000 (default 1); step-up MFA when required' })
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateJoinTokenDto, @PresentedMfa() mfa: MfaProof) {
    await this.mfa.require(principal, 'join_token_create', mfa);
    return this.tokens.create(principal, body);
  }

  @Get()
  @ApiOperation({ summary: 'Your join tokens (without their secret), newest first' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListJoinTokensQuery) {
    return this.tokens.list(principal, query.providerId, query.limit ?? 100);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a join token (idempotent); joins with it are refused with 403' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.tokens.revoke(principal, id);
  }
}
