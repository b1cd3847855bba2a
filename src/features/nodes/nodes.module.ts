import { Module } from '@nestjs/common';
import { AgentController } from './agent.controller';
import { AgentService } from './agent.service';
import { JoinTokensController } from './join-tokens.controller';
import { JoinTokensRepository } from './join-tokens.repository';
import { JoinTokensService } from './join-tokens.service';
import { NodesController } from './nodes.controller';
import { NodesRepository } from './nodes.repository';
import { NodesService } from './nodes.service';

/** API role: join tokens, the agents' endpoints and the nodes admin API. */
@Module({
  controllers: [JoinTokensController, AgentController, NodesController],
  providers: [JoinTokensService, JoinTokensRepository, AgentService, NodesService, NodesRepository],
})
export class NodesModule {}
