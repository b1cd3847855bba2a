import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { CurrentPrincipal } from '../../adapters/http/access';
import { DELEGABLE_SCOPES, DelegationsService, MAX_DELEGATION_SECONDS } from './delegations';
import type { Principal, Scope } from '../../core/auth/principal';

export class GrantDelegationDto {
  @ApiProperty({ description: 'The marketplace account that may act for you' })
  @IsUUID()
  delegateId!: string;

  @ApiProperty({ enum: DELEGABLE_SCOPES, isArray: true, example: ['submit', 'read'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(DELEGABLE_SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({ description: `Lifetime in seconds, at most ${MAX_DELEGATION_SECONDS} (30 days, the default)` })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(MAX_DELEGATION_SECONDS)
  expiresInSeconds?: number;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/delegations')
export class DelegationsController {
  constructor(private readonly delegations: DelegationsService) {}

  @Post()
  @ApiOperation({ summary: 'Let a marketplace account act for you (X-On-Behalf-Of: your id) with some of your scopes, until an expiry' })
  grant(@CurrentPrincipal() principal: Principal, @Body() body: GrantDelegationDto) {
    return this.delegations.grant(principal, body);
  }

  @Get()
  @ApiOperation({ summary: 'Delegations you granted or received' })
  list(@CurrentPrincipal() principal: Principal) {
    return this.delegations.list(principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a delegation you granted; it stops working at once' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.delegations.revoke(principal, id);
  }
}
