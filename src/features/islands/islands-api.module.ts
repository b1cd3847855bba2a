import { Module } from '@nestjs/common';
import { CapacityModule } from '../scheduling/capacity.module';
import { IslandsController } from './islands.controller';

@Module({ imports: [CapacityModule], controllers: [IslandsController] })
export class IslandsApiModule {}
