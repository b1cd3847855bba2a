import { Module } from '@nestjs/common';
import { LivenessService } from './liveness.service';
import { NodesDataModule } from './nodes-data.module';

/** Worker role: the liveness sweeper. */
@Module({ imports: [NodesDataModule], providers: [LivenessService] })
export class LivenessModule {}
