import { Global, Logger, Module } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { CHAIN_CLIENT, ChainQueries } from '../../adapters/chain/chain-port';
import { ChainIdentitySource } from './chain-identity-source';
import { DevIdentitySource } from './dev-identity-source';
import { IDENTITY_SOURCE } from '../../core/identity/identity-source';
import { MfaGate } from './mfa-gate.service';
import { MfaConsumptionsRepository } from './mfa-consumptions.repository';
import { VeidGate } from './veid-gate.service';
import { IDENTITY_TIER_GATE, STEP_UP_GATE } from '../../core/identity/gates';

function identitySource(config: AppConfig, chain: ChainQueries | null) {
  if (chain) return new ChainIdentitySource(chain);
  new Logger('identity').warn(
    [
      '',
      '************************************************************************************',
      '* DEVELOPMENT IDENTITY SOURCE: CHAIN_RPC_URL is not set, so VEID scores and MFA     *',
      '* sessions come from a local file nobody verifies. Never run production like this. *',
      `* file: ${(config.identity.devIdentityFile ?? 'none (every address is unverified)').padEnd(74)}*`,
      '************************************************************************************',
    ].join('\n'),
  );
  return new DevIdentitySource(config.identity.devIdentityFile);
}

/**
 * The VEID gate and step-up MFA over the identity source (the chain, or the development file).
 * Global, and in every role: jobs, join tokens and admin routes use the gates, and the worker
 * loads the jobs module too.
 */
@Global()
@Module({
  providers: [
    { provide: IDENTITY_SOURCE, inject: [APP_CONFIG, CHAIN_CLIENT], useFactory: identitySource },
    VeidGate,
    MfaGate,
    MfaConsumptionsRepository,
    { provide: IDENTITY_TIER_GATE, useExisting: VeidGate },
    { provide: STEP_UP_GATE, useExisting: MfaGate },
  ],
  exports: [IDENTITY_SOURCE, IDENTITY_TIER_GATE, STEP_UP_GATE, VeidGate, MfaGate],
})
export class IdentityModule {}
