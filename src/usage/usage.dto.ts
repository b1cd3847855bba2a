import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';

export class RewardsQuery {
  @ApiPropertyOptional({ description: 'A provider principal id (platform admins; provider admins always get their own)' })
  @IsOptional()
  @IsUUID()
  provider?: string;

  @ApiPropertyOptional({ description: 'A node name' })
  @IsOptional()
  @Matches(/^[a-z][a-z0-9-]{0,62}$/, { message: 'node must be a node name' })
  node?: string;

  @ApiPropertyOptional({ description: 'Epoch number (unix time / epoch length, one UTC day by default)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_000_000_000)
  epoch?: number;
}
