import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../adapters/http/access';
import { RateLimitPerAddress } from '../../adapters/http/ratelimit/request-rate-limit';
import { AgentService } from './agent.service';
import { HeartbeatDto, JoinChallengeDto, JoinDto, LatencyReportDto } from './nodes.dto';

/**
 * Node agents' endpoints. No API key: a join token and the node's Ed25519 signature authenticate
 * them (see AgentService for the checks and status codes).
 */
@ApiTags('agent')
@Public()
@Controller('v1/agent')
export class AgentController {
  constructor(private readonly agent: AgentService) {}

  @Post('join-challenge')
  @HttpCode(200)
  @RateLimitPerAddress('join')
  @ApiOperation({ summary: 'A single-use nonce (120 s) for joining with this token' })
  challenge(@Body() body: JoinChallengeDto) {
    return this.agent.challenge(body.token);
  }

  @Post('join')
  @HttpCode(201)
  @RateLimitPerAddress('join')
  @ApiOperation({ summary: 'Join as a node: token + signed JoinMessage; the node is PENDING until its first heartbeat' })
  join(@Body() body: JoinDto, @Req() request: FastifyRequest) {
    return this.agent.join(body.token, body.message, body.signature, request.ip);
  }

  @Post('heartbeat')
  @HttpCode(200)
  @RateLimitPerAddress('agent')
  @ApiOperation({ summary: 'Signed heartbeat (seq strictly increasing, clock within ±60 s); answers the peers to probe' })
  heartbeat(@Body() body: HeartbeatDto) {
    return this.agent.heartbeat(body.message, body.signature);
  }

  @Post('latency')
  @HttpCode(200)
  @RateLimitPerAddress('agent')
  @ApiOperation({ summary: 'Signed latency report: RTT medians and loss to peers' })
  latency(@Body() body: LatencyReportDto) {
    return this.agent.latency(body.message, body.signature);
  }
}
