import { Global, Module } from '@nestjs/common';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { IslandsRegistry } from './islands.registry';
import { IslandsRepository } from './islands.repository';
import { SECRET_BOX, secretBoxFrom } from './secrets';
import { SlurmUserMapping } from '../../adapters/slurm/slurm-user-mapping';
import { ISLAND_DIRECTORY } from '../../adapters/slurm/island-directory';
import { FORMED_ISLANDS } from '../../core/islands/formed-islands';

@Global()
@Module({
  providers: [
    IslandsRegistry,
    { provide: ISLAND_DIRECTORY, useExisting: IslandsRegistry },
    { provide: FORMED_ISLANDS, useExisting: IslandsRepository },
    IslandsRepository,
    SlurmUserMapping,
    { provide: SECRET_BOX, inject: [APP_CONFIG], useFactory: (config: AppConfig) => secretBoxFrom(config) },
  ],
  exports: [ISLAND_DIRECTORY, FORMED_ISLANDS, IslandsRegistry, IslandsRepository, SlurmUserMapping, SECRET_BOX],
})
export class ClustersModule {}
