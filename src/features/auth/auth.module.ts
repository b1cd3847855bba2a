import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminController } from './admin.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { DelegationsController } from './delegations.controller';
import { DelegationsService } from './delegations';
import { DelegationsRepository } from './delegations.repository';
import { WalletLoginRepository } from './wallet-login.repository';
import { PrincipalsRepository } from './principals.repository';

/** Principals, API keys, delegations and the guard on every route (both roles); wallet login's HTTP side is WalletLoginModule. */
@Module({
  controllers: [AdminController, DelegationsController],
  providers: [AuthService, DelegationsService, DelegationsRepository, PrincipalsRepository, WalletLoginRepository, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, PrincipalsRepository, WalletLoginRepository],
})
export class AuthModule {}
