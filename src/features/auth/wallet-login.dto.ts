import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { SCOPES, Scope } from '../../core/auth/principal';

const ADDRESS = /^[a-z]{1,20}1[02-9ac-hj-np-z]{38,58}$/;

export class ChallengeDto {
  @ApiProperty({ example: 've1qyqszqgpqyqszqgpqyqszqgpqyqszqgp3ghw9f', description: 'Your VirtEngine account (bech32)' })
  @IsString()
  @Matches(ADDRESS, { message: 'address must be a bech32 account address' })
  address!: string;
}

class PubKeyDto {
  @ApiProperty({ example: 'tendermint/PubKeySecp256k1' })
  @IsString()
  type!: string;

  @ApiProperty({ description: 'Base64 compressed secp256k1 public key (33 bytes)' })
  @IsString()
  @MaxLength(100)
  value!: string;
}

/** A StdSignature as wallets' `signArbitrary` returns it. */
class StdSignatureDto {
  @ApiProperty({ type: PubKeyDto })
  @IsObject()
  @ValidateNested()
  @Type(() => PubKeyDto)
  pub_key!: PubKeyDto;

  @ApiProperty({ description: 'Base64 64-byte secp256k1 signature (r||s)' })
  @IsString()
  @MaxLength(200)
  signature!: string;
}

export class LoginDto {
  @ApiProperty({ description: 'The address the challenge was issued for' })
  @IsString()
  @Matches(ADDRESS, { message: 'address must be a bech32 account address' })
  address!: string;

  @ApiProperty({ description: 'The challenge message exactly as issued and signed' })
  @IsString()
  @MaxLength(2000)
  message!: string;

  @ApiProperty({ type: StdSignatureDto, description: 'ADR-036 signArbitrary(address, message) result' })
  @IsObject()
  @ValidateNested()
  @Type(() => StdSignatureDto)
  signature!: StdSignatureDto;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the last refresh (single use)' })
  @IsString()
  @MaxLength(200)
  refreshToken!: string;
}

export class WalletAccountDto {
  @ApiPropertyOptional({ example: 'alice', description: "POSIX account the wallet's jobs run as; null removes it" })
  @IsOptional()
  @Matches(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'slurmUser must be a POSIX user name' })
  slurmUser?: string | null;

  @ApiPropertyOptional({ enum: ['researcher', 'provider_admin'], default: 'researcher' })
  @IsOptional()
  @IsIn(['researcher', 'provider_admin'])
  kind?: 'researcher' | 'provider_admin';
}

export class OwnApiKeyDto {
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['submit', 'read'], description: 'At most the scopes of your login' })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({
    description:
      "Lifetime in seconds. Never beyond the key or login issuing it (for a login: its refresh token's expiry): a longer one is refused (400); omitted: 30 days, cut to that bound",
    example: 2592000,
  })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(365 * 24 * 3600)
  expiresInSeconds?: number;
}
