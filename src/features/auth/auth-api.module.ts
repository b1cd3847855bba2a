import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminController } from './admin.controller';
import { AuthGuard } from './auth.guard';
import { AuthModule } from './auth.module';
import { DelegationsController } from './delegations.controller';

/** Principals and delegations over HTTP, and the access guard on every route (API role). */
@Module({
  imports: [AuthModule],
  controllers: [AdminController, DelegationsController],
  providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
})
export class AuthApiModule {}
