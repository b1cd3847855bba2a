import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.repository';
import { AuditWitness } from './audit-witness';
import { AUDIT_TRAIL } from '../../core/audit/audit-trail';

/** The audit trail: any module records to it through AUDIT_TRAIL (both roles); admins read it over HTTP (AuditApiModule). */
@Global()
@Module({
  providers: [AuditLog, AuditWitness, { provide: AUDIT_TRAIL, useExisting: AuditLog }],
  exports: [AUDIT_TRAIL, AuditLog, AuditWitness],
})
export class AuditModule {}
