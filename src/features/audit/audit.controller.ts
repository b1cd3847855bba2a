import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../../adapters/http/access';
import { invalid } from '../../core/common/problem';
import type { AuditEntry, WitnessedHead } from '../../core/audit/audit-chain';
import { AuditLog } from './audit-log.repository';
import { AuditWitness } from './audit-witness';
import { AuditQuery, AuditVerifyQuery } from './audit.dto';

function entryView(entry: AuditEntry) {
  return { ...entry, prevHash: entry.prevHash.toString('hex'), hash: entry.hash.toString('hex') };
}

/** The audit trail, for platform admins: oldest first, with a seq cursor; and a check of its chain. */
@ApiTags('admin')
@ApiBearerAuth()
@RequireScopes('admin')
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly audit: AuditLog,
    private readonly witness: AuditWitness,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Audit entries, oldest first (actor, action, target, since, until, after, limit)' })
  async list(@Query() query: AuditQuery) {
    const limit = query.limit ?? 100;
    const found = await this.audit.list({ ...query, afterSeq: query.after, limit: limit + 1 });
    const page = found.slice(0, limit);
    return { items: page.map(entryView), nextAfter: found.length > limit ? page[page.length - 1].seq : null };
  }

  @Get('verify')
  @ApiOperation({
    summary: 'Walk the hash chain from the first entry; report the first broken link, or a head missing or different from a witnessed one',
  })
  verify(@Query() query: AuditVerifyQuery) {
    if ((query.witnessSeq === undefined) !== (query.witnessHash === undefined)) {
      throw invalid(query.witnessSeq === undefined ? 'witnessSeq' : 'witnessHash', 'witnessSeq and witnessHash go together');
    }
    const witnesses: WitnessedHead[] = [];
    const fromFile = this.witness.lastHead();
    if (fromFile) witnesses.push(fromFile);
    if (query.witnessSeq !== undefined) witnesses.push({ seq: query.witnessSeq, hash: query.witnessHash!.toLowerCase() });
    return this.audit.verify(witnesses);
  }
}
