import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { JobsModule } from './jobs.module';

/** /v1/jobs (API role). */
@Module({ imports: [JobsModule], controllers: [JobsController] })
export class JobsApiModule {}
