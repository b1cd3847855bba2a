import { Inject, Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { invalid } from '../../core/common/problem';
import { RequireScopes, CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { CreatePrincipalDto, IssueApiKeyDto } from './auth.dto';
import { AuthService } from './auth.service';
import { MfaHeaders, PresentedMfa } from '../../adapters/http/mfa-headers';
import { MfaProof } from '../../core/identity/mfa-proof';
import { STEP_UP_GATE, type StepUpGate } from '../../core/identity/gates';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => invalid('id', 'must be a UUID') });

@ApiTags('admin')
@ApiBearerAuth()
@RequireScopes('admin')
@Controller('v1')
export class AdminController {
  constructor(
    private readonly auth: AuthService,
    @Inject(STEP_UP_GATE) private readonly mfa: StepUpGate,
  ) {}

  @Post('principals')
  @ApiOperation({ summary: 'Create a researcher, provider admin, marketplace account or platform admin' })
  createPrincipal(@CurrentPrincipal() by: Principal, @Body() body: CreatePrincipalDto) {
    if (body.kind === 'researcher' && !body.slurmUser) throw invalid('slurmUser', 'a researcher needs a POSIX account');
    return this.auth.createPrincipal(by, body.name, body.kind, body.slurmUser ?? null);
  }

  @Get('principals')
  @ApiOperation({ summary: 'List principals' })
  async listPrincipals() {
    return { items: await this.auth.listPrincipals() };
  }

  @Post('principals/:id/api-keys')
  @MfaHeaders()
  @ApiOperation({
    summary:
      'Issue an API key (shown once), expiring no later than the credential issuing it; step-up MFA when the caller has a chain account that requires it',
  })
  issueKey(@CurrentPrincipal() caller: Principal, @Param('id', uuid) id: string, @Body() body: IssueApiKeyDto, @PresentedMfa() mfa: MfaProof) {
    return this.auth.issueApiKey(caller, id, body.scopes, { requestedSeconds: body.expiresInSeconds, defaultSeconds: null }, () =>
      this.mfa.require(caller, 'api_key_create', mfa),
    );
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key' })
  async revokeKey(@CurrentPrincipal() by: Principal, @Param('id', uuid) id: string): Promise<void> {
    await this.auth.revokeApiKey(by, id);
  }
}
