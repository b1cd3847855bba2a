import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditLog } from './audit-log';
import { AuditWitness } from './audit-witness';

/** The audit trail: any module may record to it (both roles); admins read it over HTTP. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditWitness],
  exports: [AuditLog],
})
export class AuditModule {}
