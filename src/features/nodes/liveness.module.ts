import { Module } from '@nestjs/common';
import { JoinTokensRepository } from './join-tokens.repository';
import { LivenessService } from './liveness.service';
import { NodesRepository } from './nodes.repository';

/** Worker role: the liveness sweeper. */
@Module({ providers: [LivenessService, NodesRepository, JoinTokensRepository] })
export class LivenessModule {}
