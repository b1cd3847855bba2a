import { Module } from '@nestjs/common';
import { IslandsController } from './islands.controller';

@Module({ controllers: [IslandsController] })
export class IslandsApiModule {}
