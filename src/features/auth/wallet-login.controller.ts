import { Inject, Body, Controller, Get, HttpCode, Optional, Param, Post, Put, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { credentialFamily } from '../../core/auth/api-key';
import { AuthService } from './auth.service';
import { Public, RequireScopes, CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { RateLimits } from '../../adapters/http/ratelimit/rate-limits';
import { MfaHeaders, PresentedMfa } from '../../adapters/http/mfa-headers';
import { MfaProof } from '../../core/identity/mfa-proof';
import { ChallengeDto, LoginDto, OwnApiKeyDto, RefreshDto, WalletAccountDto } from './wallet-login.dto';
import { WalletLoginService } from './wallet-login.service';
import { STEP_UP_GATE, type StepUpGate } from '../../core/identity/gates';

const DEFAULT_OWN_KEY_SECONDS = 30 * 24 * 3600;

@ApiTags('auth')
@Controller('v1')
export class WalletLoginController {
  constructor(
    private readonly login: WalletLoginService,
    private readonly auth: AuthService,
    @Inject(STEP_UP_GATE) private readonly mfa: StepUpGate,
    /** API role only; failed logins count with failed keys (per address and credential). */
    @Optional() private readonly limits?: RateLimits,
  ) {}

  @Post('auth/challenge')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'A single-use sign-in message for a wallet address (nonce, this domain, short expiry)' })
  challenge(@Body() body: ChallengeDto, @Req() request: FastifyRequest) {
    return this.login.challenge(body.address, request.ip);
  }

  @Post('auth/login')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in with the ADR-036 signArbitrary signature of the challenge message: a session token and a refresh token' })
  walletLogin(@Body() body: LoginDto, @Req() request: FastifyRequest) {
    return this.countingFailures(request, `wallet:${body.address}`, () => this.login.login(body));
  }

  @Post('auth/refresh')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a refresh token (single use) for a new session and refresh token' })
  refresh(@Body() body: RefreshDto, @Req() request: FastifyRequest) {
    return this.countingFailures(request, credentialFamily(body.refreshToken), () => this.login.refresh(body.refreshToken));
  }

  @Post('auth/logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'End this login: the session and its refresh chain stop working' })
  async logout(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.login.logout(principal);
  }

  @Get('auth/me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Who you are: principal, kind, scopes, chain address and POSIX account' })
  me(@CurrentPrincipal() principal: Principal) {
    return {
      id: principal.id,
      name: principal.name,
      kind: principal.kind,
      scopes: [...principal.scopes],
      chainAddress: principal.chainAddress,
      slurmUser: principal.slurmUser,
    };
  }

  @Post('auth/api-keys')
  @ApiBearerAuth()
  @MfaHeaders()
  @ApiOperation({
    summary:
      'Issue yourself an API key (shown once) with at most your own scopes, living no longer than the key or login issuing it and revoked with it; needs step-up MFA when the chain requires it',
  })
  ownApiKey(@CurrentPrincipal() principal: Principal, @Body() body: OwnApiKeyDto, @PresentedMfa() mfa: MfaProof) {
    return this.auth.issueApiKey(
      principal,
      principal.id,
      body.scopes,
      { requestedSeconds: body.expiresInSeconds, defaultSeconds: DEFAULT_OWN_KEY_SECONDS },
      () => this.mfa.require(principal, 'api_key_create', mfa),
    );
  }

  @Put('wallet-accounts/:address')
  @ApiBearerAuth()
  @RequireScopes('admin')
  @ApiOperation({ summary: 'Map a wallet to its POSIX account and kind (applies at its first login, or now if it has logged in)' })
  setWalletAccount(@CurrentPrincipal() by: Principal, @Param('address') address: string, @Body() body: WalletAccountDto) {
    return this.login.setWalletAccount(by, address, body.kind ?? 'researcher', body.slurmUser ?? null);
  }

  private countingFailures<T>(request: FastifyRequest, credential: string, attempt: () => Promise<T>): Promise<T> {
    return this.limits ? this.limits.authenticating(request.ip, credential, attempt) : attempt();
  }
}
