import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** A query's `limit`: optional, an integer from 1 to `max` (strings from the URL converted), `fallback` when absent. */
export function PageLimit(max: number, fallback: number): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ default: fallback, minimum: 1, maximum: max }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(max),
  );
}
