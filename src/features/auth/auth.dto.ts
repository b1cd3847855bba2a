import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsInt, IsNotIn, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { FORBIDDEN_SLURM_USERS } from '../../core/slurm/posix-user';
import { SCOPES, Scope } from '../../core/auth/principal';

const KINDS = ['researcher', 'provider_admin', 'marketplace', 'platform_admin'] as const;

export class CreatePrincipalDto {
  @ApiProperty({ example: 'alice@lab', description: 'Unique display name' })
  @IsString()
  @Matches(/^[\w.@+-]{1,100}$/, { message: 'name must be 1-100 letters, digits or . @ + - _' })
  name!: string;

  @ApiProperty({ enum: KINDS })
  @IsIn(KINDS)
  kind!: (typeof KINDS)[number];

  @ApiPropertyOptional({ example: 'alice', description: "POSIX account the principal's jobs run as on every island" })
  @IsOptional()
  @Matches(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'slurmUser must be a POSIX user name' })
  // The database refuses them too; refused here so the caller gets a 400, not a failed insert.
  @IsNotIn([...FORBIDDEN_SLURM_USERS], { message: 'slurmUser cannot be root or the SLURM daemon account' })
  slurmUser?: string;
}

export class IssueApiKeyDto {
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['submit', 'read'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({
    description:
      "Lifetime in seconds. Never beyond the expiry of the credential issuing it: a longer one is refused (400); omitted means no expiry, or that credential's expiry if it has one",
    example: 2592000,
  })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(10 * 365 * 24 * 3600)
  expiresInSeconds?: number;
}
