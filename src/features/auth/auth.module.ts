import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminController } from './admin.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { DelegationsController } from './delegations.controller';
import { DelegationsService } from './delegations';

@Module({
  controllers: [AdminController, DelegationsController],
  providers: [AuthService, DelegationsService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}
