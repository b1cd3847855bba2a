import { Global, Module } from '@nestjs/common';
import { IslandsRegistry } from './islands.registry';

@Global()
@Module({ providers: [IslandsRegistry], exports: [IslandsRegistry] })
export class ClustersModule {}
