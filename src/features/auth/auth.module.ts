import { Module } from '@nestjs/common';
import { AuthService } from './auth.service';
import { DelegationsService } from './delegations';
import { DelegationsRepository } from './delegations.repository';
import { WalletLoginRepository } from './wallet-login.repository';
import { PrincipalsRepository } from './principals.repository';

/** Principals, API keys and delegations (both roles); their HTTP side and the guard on every route are AuthApiModule's, wallet login's WalletLoginModule's. */
@Module({
  providers: [AuthService, DelegationsService, DelegationsRepository, PrincipalsRepository, WalletLoginRepository],
  exports: [AuthService, DelegationsService, PrincipalsRepository, WalletLoginRepository],
})
export class AuthModule {}
