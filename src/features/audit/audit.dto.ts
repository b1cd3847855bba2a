import { PageLimit } from '../../adapters/http/page-limit';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, Matches, Max, Min } from 'class-validator';

const REFERENCE = /^[a-z_]{1,32}:[A-Za-z0-9_.@:-]{1,200}$/;

export class AuditQuery {
  @ApiPropertyOptional({ example: 'principal:0b6c…', description: 'Only entries by this actor' })
  @IsOptional()
  @Matches(REFERENCE, { message: 'actor is kind:id, e.g. principal:<uuid>' })
  actor?: string;

  @ApiPropertyOptional({ example: 'api_key.revoke' })
  @IsOptional()
  @Matches(/^[a-z_]{1,32}\.[a-z_]{1,32}$/, { message: 'action is thing.verb, e.g. api_key.revoke' })
  action?: string;

  @ApiPropertyOptional({ example: 'node:5f0e…', description: 'Only entries about this target' })
  @IsOptional()
  @Matches(REFERENCE, { message: 'target is kind:id, e.g. node:<uuid>' })
  target?: string;

  @ApiPropertyOptional({ description: 'At or after this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ description: 'Before this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @ApiPropertyOptional({ description: 'nextAfter from the previous page (a seq)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  @PageLimit(1000, 100)
  limit?: number;
}

/** A head of the audit chain kept elsewhere (e.g. from an earlier verify's `head`), to check the chain against. */
export class AuditVerifyQuery {
  @ApiPropertyOptional({ description: 'seq of a head seen earlier; with witnessHash' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  witnessSeq?: number;

  @ApiPropertyOptional({ description: 'hash (64 hex digits) of that entry; with witnessSeq' })
  @IsOptional()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'witnessHash is the 64 hex digits of an entry hash' })
  witnessHash?: string;
}
