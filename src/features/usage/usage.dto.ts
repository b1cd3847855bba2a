import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';

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

export class SetBudgetDto {
  @ApiProperty({ description: 'Monthly limit in integer micro-denom, as a string', example: '5000000' })
  @IsString()
  @Matches(/^(0|[1-9]\d{0,30})$/, { message: 'monthlyLimit must be a non-negative integer string' })
  monthlyLimit!: string;

  @ApiProperty({ description: 'The billing denom', example: 'uvirt' })
  @IsString()
  @Matches(/^[a-z][a-z0-9/]{1,63}$/, { message: 'denom must be a denom name such as uvirt' })
  denom!: string;
}
