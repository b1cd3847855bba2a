import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** The audit trail read over HTTP by admins (API role); the trail itself is AuditModule's. */
@Module({ controllers: [AuditController] })
export class AuditApiModule {}
