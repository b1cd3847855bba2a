import { PageLimit } from '../../adapters/http/page-limit';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../core/nodes/join-token';
import type { HeartbeatMessage, JoinMessage, LatencyReport } from '../../core/nodes/agent-protocol';
import { NODE_STATES } from '../../core/nodes/node-state';

export class CreateJoinTokenDto {
  @ApiPropertyOptional({ description: 'The provider admin the token is for (platform admins only; a provider admin gets its own)' })
  @IsOptional()
  @IsUUID()
  providerId?: string;

  @ApiPropertyOptional({ default: 3600, minimum: 60, maximum: MAX_TOKEN_LIFETIME_SECONDS })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(MAX_TOKEN_LIFETIME_SECONDS)
  expiresInSeconds?: number;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: 1000, description: 'How many nodes may join with it' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxUses?: number;
}

export class ListJoinTokensQuery {
  @ApiPropertyOptional({ description: 'Platform admins: only this provider' })
  @IsOptional()
  @IsUUID()
  providerId?: string;

  @PageLimit(1000, 100)
  limit?: number;
}

export class ListNodesQuery {
  @ApiPropertyOptional({ description: `Comma-separated states: ${NODE_STATES.join(', ')}` })
  @IsOptional()
  @Matches(new RegExp(`^(${NODE_STATES.join('|')})(,(${NODE_STATES.join('|')}))*$`), {
    message: `state must be comma-separated node states (${NODE_STATES.join(', ')})`,
  })
  state?: string;

  @ApiPropertyOptional({ description: 'Platform admins: only this provider' })
  @IsOptional()
  @IsUUID()
  providerId?: string;

  @ApiPropertyOptional({ description: 'nextAfter from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/^[^\0]*$/, { message: 'after may not contain NUL' })
  after?: string;

  @PageLimit(1000, 100)
  limit?: number;
}

export class LatencyQuery {
  @ApiPropertyOptional({ description: 'Comma-separated node ids (at most 200); default every registered node you see' })
  @IsOptional()
  @IsString()
  @MaxLength(200 * 37)
  nodes?: string;
}

export class DrainNodeDto {
  @ApiProperty({ example: 'disk replacement', description: 'Why; kept until the node is resumed' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  // Kept in PostgreSQL (no NUL) and written to logs (no forged lines).
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  @Matches(/^[^\x00-\x1f\x7f]*$/, { message: 'reason may not contain control characters' })
  reason!: string;
}

export class JoinChallengeDto {
  @ApiProperty({ description: 'The join token (jt_…)' })
  @IsString()
  @MaxLength(200)
  token!: string;
}

export class JoinDto {
  @ApiProperty({ description: 'The join token (jt_…)' })
  @IsString()
  @MaxLength(200)
  token!: string;

  @ApiProperty({
    description: 'JoinMessage (purpose "join", nonce, publicKey, inventory, tags, probeAddress, sentAt)',
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  message!: JoinMessage;

  @ApiProperty({ description: 'Ed25519 signature of the canonical JSON of message, by message.publicKey, base64url' })
  @IsString()
  @MaxLength(200)
  signature!: string;
}

export class HeartbeatDto {
  @ApiProperty({
    description: 'HeartbeatMessage (purpose "heartbeat", nodeId, seq, sentAt, capacity, health, slurmdState)',
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  message!: HeartbeatMessage;

  @ApiProperty({ description: "Ed25519 signature of the canonical JSON of message, by the node's key, base64url" })
  @IsString()
  @MaxLength(200)
  signature!: string;
}

export class LatencyReportDto {
  @ApiProperty({
    description: 'LatencyReport (purpose "latency", nodeId, seq, sentAt, samples[{peer, rttMs, loss, probes}])',
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  message!: LatencyReport;

  @ApiProperty({ description: "Ed25519 signature of the canonical JSON of message, by the node's key, base64url" })
  @IsString()
  @MaxLength(200)
  signature!: string;
}
