import { Logger } from '@nestjs/common';
import { HPCJob, JobState as ChainJobState, MsgReportJobStatus } from '../../adapters/chain/generated/virtengine';
import type { Principal } from '../../core/auth/principal';
import { Problem } from '../../core/common/problem';
import type { JobOutcomes, JobProgress } from '../../core/jobs/job-outcomes';
import type { JobSubmission } from '../../core/jobs/job-submission';
import { isTerminal } from '../../core/jobs/lifecycle';
import type { ChainIngressRepository } from './chain-ingress.repository';
import { chainStateName } from './job-report';

const { JOB_STATE_PENDING: PENDING, JOB_STATE_QUEUED: QUEUED, JOB_STATE_RUNNING: RUNNING } = ChainJobState;
const { JOB_STATE_CANCELLED: CANCELLED, JOB_STATE_TIMEOUT: TIMEOUT } = ChainJobState;

/** What one follow pass did, by chain job id. */
export interface FollowReport {
  /** Ended on chain (customer's MsgCancelJob, or x/hpc's runtime limit): cancelled here. */
  cancelled: string[];
  /** QUEUED / RUNNING reports queued for the provider daemon. */
  progressed: string[];
}

/**
 * Keeps imported chain jobs and ours in step while they run, both ways:
 * - the chain ended the job (CANCELLED by the customer's MsgCancelJob, or TIMEOUT by x/hpc's
 *   EndBlock past max_runtime_seconds): we cancel ours, in SLURM if it has it, as its owner would;
 * - SLURM took or started ours: the chain's job is reported QUEUED, then RUNNING, as it happens
 *   (chain_outbox `job-progress`, one row per chain job and state, so never queued twice). The
 *   terminal report stays the usage reporter's (it carries the signed usage), which rebuilds from
 *   the chain's state and so never repeats a state these reports already brought.
 */
export class ChainJobFollower {
  private readonly logger = new Logger(ChainJobFollower.name);

  constructor(
    private readonly records: ChainIngressRepository,
    private readonly outcomes: JobOutcomes,
    private readonly jobs: JobSubmission,
    private readonly owner: (customerAddress: string) => Promise<Principal>,
  ) {}

  async follow(chainJobs: HPCJob[], provider: string): Promise<FollowReport> {
    const report: FollowReport = { cancelled: [], progressed: [] };
    const imported = await this.records.imported(chainJobs.map((j) => j.jobId));
    if (imported.size === 0) return report;
    const progress = await this.outcomes.progress([...imported.values()]);
    for (const chainJob of chainJobs) {
      const ours = imported.get(chainJob.jobId);
      const now = ours === undefined ? undefined : progress.get(ours);
      if (ours === undefined || now === undefined || isTerminal(now.state)) continue;
      if (chainJob.state === CANCELLED || chainJob.state === TIMEOUT) {
        if (await this.cancelOurs(chainJob, ours)) report.cancelled.push(chainJob.jobId);
      } else if (await this.reportProgress(chainJob, now, provider)) {
        report.progressed.push(chainJob.jobId);
      }
    }
    return report;
  }

  private async cancelOurs(chainJob: HPCJob, ours: string): Promise<boolean> {
    const why = chainJob.state === TIMEOUT ? 'x/hpc timed it out (max_runtime_seconds)' : `the customer cancelled it (${chainJob.statusMessage})`;
    try {
      await this.jobs.cancel(await this.owner(chainJob.customerAddress), ours);
    } catch (error) {
      // Ended meanwhile (409): nothing left to cancel; the usage reporter reconciles the end state.
      if (error instanceof Problem && error.status === 409) return false;
      throw error;
    }
    this.logger.log(`chain job ${chainJob.jobId} is ${chainStateName(chainJob.state)} on chain (${why}): job ${ours} cancelled`);
    return true;
  }

  /** Queues the QUEUED / RUNNING reports the chain's job is missing; whether any was new. */
  private async reportProgress(chainJob: HPCJob, ours: JobProgress, provider: string): Promise<boolean> {
    const inSlurm = ours.slurmJobId !== null;
    const wanted = ours.startedAt !== null ? [QUEUED, RUNNING] : inSlurm ? [QUEUED] : [];
    const missing = chainJob.state === PENDING ? wanted : chainJob.state === QUEUED ? wanted.filter((s) => s === RUNNING) : [];
    let added = false;
    for (const state of missing) {
      const message = MsgReportJobStatus.fromPartial({ providerAddress: provider, jobId: chainJob.jobId, slurmJobId: ours.slurmJobId ?? '', state });
      const key = `progress:${chainJob.jobId}:${chainStateName(state)}`;
      added = (await this.records.queueProgress(key, chainJob.jobId, { typeUrl: MsgReportJobStatus.typeUrl, value: message })) || added;
    }
    return added;
  }
}
