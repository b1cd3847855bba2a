import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes, CurrentPrincipal } from '../../adapters/http/access';
import type { Principal } from '../../core/auth/principal';
import { invalid } from '../../core/common/problem';
import { requestedRange } from '../../core/jobs/byte-range';
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
  @ApiOperation({ summary: 'Your jobs, newest first, with cursor pagination' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListJobsQuery) {
    return this.jobs.list(principal, {
      states: query.state?.split(','),
      island: query.island,
      name: query.name,
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
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=start-end, bytes=start- or bytes=-suffix' })
  @ApiOperation({ summary: "The job's stdout or stderr (patterns expanded as SLURM does), with byte ranges and tail" })
  async output(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: OutputQuery,
    @Headers('range') range: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    const slice = await this.jobs.output(principal, id, {
      stream: query.stream ?? 'stdout',
      taskId: query.task,
      ...requestedRange(range, query),
    });
    const partial = slice.start > 0 || slice.start + slice.data.length < slice.size;
    const last = slice.start + slice.data.length - 1;
    reply
      .status(partial ? 206 : 200)
      .header('Content-Type', 'text/plain; charset=utf-8')
      .header('Accept-Ranges', 'bytes')
      .header('X-Output-Path', encodeURI(slice.path))
      .header('X-Output-Size', String(slice.size));
    if (partial) reply.header('Content-Range', `bytes ${slice.data.length ? `${slice.start}-${last}` : '*'}/${slice.size}`);
    reply.send(slice.data);
  }
}
