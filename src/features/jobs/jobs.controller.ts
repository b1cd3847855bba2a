import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { RequireScopes, CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { invalid } from '../../core/common/problem';
import { requestedOutput } from '../../core/jobs/byte-range';
import { CancelJobsDto, ListJobsQuery, ListTasksQuery, OutputQuery, SubmitJobDto } from './jobs.dto';
import { JobsService } from './jobs.service';
import { MfaHeaders, PresentedMfa } from '../../adapters/http/mfa-headers';
import { MfaProof } from '../../core/identity/mfa-proof';
import { CarriesBatchScript } from '../../adapters/http/json-body';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @CarriesBatchScript()
  @RequireScopes('submit')
  @ApiOperation({
    summary:
      'Submit a batch job (sbatch semantics); 202 with the job, dispatched asynchronously; 422 (problem+json with `placement`) when no island can ever run it',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key and body: the same job; different body: 409' })
  @MfaHeaders()
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SubmitJobDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @PresentedMfa() mfa: MfaProof,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw invalid('Idempotency-Key', 'must be 1-200 printable ASCII characters');
    }
    const { job, replayed } = await this.jobs.submit(principal, body, idempotencyKey ?? null, mfa);
    reply.status(202).header('Location', job.links.self);
    if (replayed) reply.header('Idempotent-Replayed', 'true');
    return job;
  }

  @Post('estimate')
  @CarriesBatchScript()
  @HttpCode(200)
  @RequireScopes('submit')
  @ApiOperation({ summary: 'What a submission may cost (all it asks for, for its whole time limit) and your budget, without submitting' })
  estimate(@CurrentPrincipal() principal: Principal, @Body() body: SubmitJobDto) {
    return this.jobs.estimate(principal, body);
  }

  @Post('cancel')
  @HttpCode(200)
  @RequireScopes('submit')
  @MfaHeaders()
  @ApiOperation({ summary: 'Cancel many of your jobs at once: each id with its outcome; past the mass-cancel threshold, step-up MFA' })
  cancelMany(@CurrentPrincipal() principal: Principal, @Body() body: CancelJobsDto, @PresentedMfa() mfa: MfaProof) {
    return this.jobs.cancelMany(principal, body.ids, mfa);
  }

  @Get()
  @RequireScopes('read')
  @ApiOperation({
    summary: 'Your jobs, newest first, with cursor pagination; with `array`, the tasks of that array as lines of their own (`<id>_<task>`, sacct style)',
  })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListJobsQuery) {
    return this.jobs.list(principal, {
      states: query.state?.split(','),
      island: query.island,
      name: query.name,
      array: query.array,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
  }

  @Get(':id')
  @RequireScopes('read')
  @ApiOperation({ summary: 'One of your jobs' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.get(principal, id);
  }

  @Get(':id/tasks')
  @RequireScopes('read')
  @ApiOperation({ summary: 'The tasks of a job array and their states' })
  tasks(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Query() query: ListTasksQuery) {
    return this.jobs.tasks(principal, id, query.after ?? -1, query.limit ?? 100);
  }

  @Get(':id/events')
  @RequireScopes('read')
  @ApiOperation({ summary: 'State history of a job' })
  events(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.events(principal, id);
  }

  @Get(':id/placement')
  @RequireScopes('read')
  @ApiOperation({ summary: 'Why the job went to its island (or was rejected): the decision with every candidate island' })
  placement(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.placement(principal, id);
  }

  @Delete(':id')
  @HttpCode(202)
  @RequireScopes('submit')
  @ApiOperation({ summary: 'Cancel a job (scancel)' })
  cancel(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.cancel(principal, id);
  }

  @Post(':id/hold')
  @HttpCode(200)
  @RequireScopes('submit')
  @ApiOperation({ summary: 'Hold a pending job (scontrol hold)' })
  hold(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.setHold(principal, id, true);
  }

  @Post(':id/release')
  @HttpCode(200)
  @RequireScopes('submit')
  @ApiOperation({ summary: 'Release a held job (scontrol release)' })
  release(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.jobs.setHold(principal, id, false);
  }

  @Get(':id/output')
  @RequireScopes('read')
  @ApiProduces('text/plain')
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=start-end, bytes=start- (to the end) or bytes=-suffix' })
  @ApiOperation({
    summary:
      "The job's stdout or stderr (patterns expanded as SLURM does): the whole file by default (streamed), or a byte range, the last bytes (tail) or the last lines (tailLines)",
  })
  async output(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: OutputQuery,
    @Headers('range') range: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    const output = await this.jobs.output(principal, id, {
      stream: query.stream ?? 'stdout',
      taskId: query.task,
      selection: requestedOutput(range, query),
    });
    const partial = output.start > 0 || output.start + output.length < output.size;
    reply
      .status(partial ? 206 : 200)
      .header('Content-Type', 'text/plain; charset=utf-8')
      .header('Accept-Ranges', 'bytes')
      .header('X-Output-Path', encodeURI(output.path))
      .header('X-Output-Size', String(output.size));
    if (partial) {
      reply.header('Content-Range', `bytes ${output.length ? `${output.start}-${output.start + output.length - 1}` : '*'}/${output.size}`);
    }
    // A long span goes out chunk by chunk as it is read (chunked transfer), never whole in memory.
    reply.send(Buffer.isBuffer(output.body) ? output.body : Readable.from(output.body));
  }
}
