import { Module } from '@nestjs/common';
import { AgentController } from './agent.controller';
import { AgentService } from './agent.service';
import { JoinTokensController } from './join-tokens.controller';
import { JoinTokensService } from './join-tokens.service';
import { NodesController } from './nodes.controller';
import { NodesService } from './nodes.service';
import { NodesDataModule } from './nodes-data.module';

/** API role: join tokens, the agents' endpoints and the nodes admin API. */
@Module({
  imports: [NodesDataModule],
  controllers: [JoinTokensController, AgentController, NodesController],
  providers: [JoinTokensService, AgentService, NodesService],
})
export class NodesModule {}
