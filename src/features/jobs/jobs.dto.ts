import { PageLimit } from '../../adapters/http/page-limit';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

/** PostgreSQL text cannot hold NUL: refused here rather than failing in the query. */
const NO_NUL = /^[^\0]*$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Where the job may run, on top of what its resources need. Every list is "any of". */
export class PlacementConstraintsDto {
  @ApiPropertyOptional({ description: "Regions the island's nodes must be in", example: ['eu-west'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(LABEL, { each: true, message: 'each region is a label (letters, digits, . _ -)' })
  regions?: string[];

  @ApiPropertyOptional({ description: "Provider groups the island's nodes must belong to" })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(LABEL, { each: true, message: 'each provider is a label (letters, digits, . _ -)' })
  providers?: string[];

  @ApiPropertyOptional({ description: 'Performance classes the island must have', example: ['high'] })
  @IsOptional()
  @IsArray()
  @IsIn(['high', 'low'], { each: true })
  performance?: Array<'high' | 'low'>;

  @ApiPropertyOptional({ description: 'Only these islands' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { each: true, message: 'each island is an island name' })
  islands?: string[];

  @ApiPropertyOptional({ description: 'Never these islands' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { each: true, message: 'each island is an island name' })
  excludeIslands?: string[];

  @ApiPropertyOptional({
    description: 'Loosest island latency bound accepted (ms between any two nodes); multi-node jobs default to the tightest tier',
    example: 30,
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(10000)
  maxIslandLatencyMs?: number;

  @ApiPropertyOptional({ description: 'Highest price per core-hour accepted' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  maxPricePerCoreHour?: number;
}

export class SubmitJobDto {
  @ApiPropertyOptional({
    description: 'A batch script, starting with "#!", with optional #SBATCH directives; leave it out when options.wrap carries the command (sbatch --wrap)',
    example: '#!/bin/bash\n#SBATCH --job-name=hello\n#SBATCH --time=00:05:00\necho hello from $SLURM_JOB_ID\n',
  })
  @IsOptional()
  @IsString()
  script?: string;

  @ApiPropertyOptional({
    description: "The script's file name without a directory (what `sbatch run.sh` was given): the default job name and %x, as with sbatch",
    example: 'run.sh',
  })
  @IsOptional()
  @IsString()
  scriptName?: string;

  @ApiPropertyOptional({
    description: "sbatch long options without dashes; they override the script's directives like command-line flags",
    example: { nodes: 1, ntasks: 1, 'cpus-per-task': 1, mem: '256M', partition: 'debug' },
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: "The submission environment that --export=ALL (sbatch's default) passes to the job",
    example: { OMP_NUM_THREADS: '1' },
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  @IsOptional()
  @IsObject()
  environment?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Constraints on the island the job is placed on', type: PlacementConstraintsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => PlacementConstraintsDto)
  placement?: PlacementConstraintsDto;
}

export class ListJobsQuery {
  @ApiPropertyOptional({ description: 'Comma-separated states, e.g. PENDING,RUNNING' })
  @IsOptional()
  @Matches(/^[A-Z_]+(,[A-Z_]+)*$/, { message: 'state must be comma-separated upper-case state names' })
  state?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^[a-z0-9-]{1,63}$/, { message: 'island must be an island name' })
  island?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(NO_NUL, { message: 'name may not contain NUL' })
  name?: string;

  @ApiPropertyOptional({
    description:
      "An array job's id: list its tasks, one line each (`<id>_<task>` with the task's state, island, times, exit code), filtered by state and island",
    example: '41',
  })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'array must be the id of one of your array jobs' })
  array?: string;

  @ApiPropertyOptional({ description: 'nextCursor from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;

  @PageLimit(500, 50)
  limit?: number;
}

export class ListTasksQuery {
  @ApiPropertyOptional({ description: 'Return tasks after this task id' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(-1)
  after?: number;

  @PageLimit(1000, 100)
  limit?: number;
}

export class OutputQuery {
  @ApiPropertyOptional({ enum: ['stdout', 'stderr'], default: 'stdout' })
  @IsOptional()
  @IsIn(['stdout', 'stderr'])
  stream?: 'stdout' | 'stderr';

  @ApiPropertyOptional({ description: 'Array task id (required for arrays)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  task?: number;

  @ApiPropertyOptional({ description: 'First byte to return' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;

  @ApiPropertyOptional({ description: 'Return only the last N bytes' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(16 * 1024 * 1024)
  tail?: number;

  @ApiPropertyOptional({ description: 'Return only the last N lines (tail -n N), looking back at most 16 MiB; not with tail, offset, length or Range' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  tailLines?: number;

  @ApiPropertyOptional({ description: 'At most this many bytes (default: to the end of the file)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(16 * 1024 * 1024)
  length?: number;
}

export class CancelJobsDto {
  @ApiProperty({ example: ['41', '42'], description: 'Ids of your jobs to cancel (1-1000); more than the mass-cancel threshold needs step-up MFA' })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @Matches(/^\d{1,18}$/, { each: true, message: 'ids must be job ids' })
  ids!: string[];
}
