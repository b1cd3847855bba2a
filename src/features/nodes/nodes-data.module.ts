import { Module } from '@nestjs/common';
import { JoinTokensRepository } from './join-tokens.repository';
import { NodesRepository } from './nodes.repository';

/** The nodes feature's tables (nodes, latency samples, join tokens), for its API, its liveness sweeper and island formation. */
@Module({ providers: [NodesRepository, JoinTokensRepository], exports: [NodesRepository, JoinTokensRepository] })
export class NodesDataModule {}
