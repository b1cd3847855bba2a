import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CHAIN_CLIENT, type ChainQueries } from '../../adapters/chain/chain-port';
import { HPCJob, JobState, MsgReportJobStatus } from '../../adapters/chain/generated/virtengine';
import { Problem } from '../../core/common/problem';
import { repeatEvery } from '../../core/common/repeat';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { onePassUnderLock } from '../../adapters/postgres/advisory-lock';
import { ChainIngressRepository } from './chain-ingress.repository';
import { CHAIN_OUTBOX_MAX_BACKOFF_SECONDS, ChainOutboxRepository } from './chain-outbox.repository';
import { IDENTITY_SOURCE, type IdentitySource } from '../../core/identity/identity-source';
import type { MfaProof } from '../../core/identity/mfa-proof';
import type { Principal } from '../../core/auth/principal';
import type { ChainConnection } from './chain-connection';
import { chainJobSubmission } from './chain-job-request';
import { ChainJobFollower } from './chain-job-follow';
import { JOB_OUTCOMES, type JobOutcomes } from '../../core/jobs/job-outcomes';
import { CHAIN_CONNECTION } from './ledger-tokens';
import { JOB_SUBMISSION, type JobSubmission } from '../../core/jobs/job-submission';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from '../../core/auth/principal-directory';

/** One ingress pass at a time across every worker (pg_try_advisory_lock). */
const INGRESS_LOCK = 7_649_000_001;
/** A customer submitting on chain has signed a transaction, but cannot answer a step-up MFA challenge. */
const NO_MFA: MfaProof = { sessionId: null, deviceFingerprint: null, trustToken: null };
/** The chain keeps status messages short; a refusal's reason is cut to this. */
const MAX_STATUS_MESSAGE = 512;

export interface IngressReport {
  imported: string[];
  /** Imported jobs the chain ended (customer cancel, chain timeout), cancelled here. */
  cancelled: string[];
  /** Imported jobs whose QUEUED / RUNNING report was queued. */
  progressed: string[];
  refused: Array<{ chainJobId: string; reason: string }>;
  /** Jobs left for a later pass (a dependency was unavailable: chain, SLURM, database). */
  deferred: string[];
}

/** Another worker decided on this chain job first; the transaction that would import it again is undone. */
class AlreadyDecided extends Error {}

/**
 * Chain ingress: reads x/hpc's stored jobs (an ABCI store query: the chain does not implement
 * Query/Jobs), keeps the PENDING ones of ours on an island registered on chain (chain_clusters),
 * and turns each one not decided
 * yet into an Archipelago job owned by the customer's wallet principal (created if absent), through
 * the same normalization, VEID/MFA gates and budget as `POST /v1/jobs`, pinned to that island.
 * The job row, its chain_job_links row and the chain_ingress row commit together, and the chain
 * job id is chain_ingress's primary key: a crash or a second worker never imports a job twice.
 * A job the gates refuse (4xx) is recorded REFUSED with the reason and reported to the chain as
 * FAILED (PENDING → FAILED is legal) through the provider daemon's outbox. Once imported, the job
 * is reported like any other: the usage reporter follows chain_job_links; while it runs,
 * ChainJobFollower reports QUEUED / RUNNING as they happen and cancels it when the chain ends it.
 */
@Injectable()
export class ChainIngressService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChainIngressService.name);
  private stop: (() => void) | null = null;

  private readonly records: ChainIngressRepository;
  private readonly follower: ChainJobFollower;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CHAIN_CONNECTION) private readonly connection: ChainConnection | null,
    @Inject(CHAIN_CLIENT) private readonly chain: ChainQueries | null,
    @Inject(IDENTITY_SOURCE) private readonly identity: IdentitySource,
    @Inject(PRINCIPAL_DIRECTORY) private readonly wallets: PrincipalDirectory,
    @Inject(JOB_SUBMISSION) private readonly jobs: JobSubmission,
    @Inject(JOB_OUTCOMES) outcomes: JobOutcomes,
  ) {
    this.records = new ChainIngressRepository(db, new ChainOutboxRepository(db, CHAIN_OUTBOX_MAX_BACKOFF_SECONDS));
    this.follower = new ChainJobFollower(this.records, outcomes, jobs, (address) => this.customer(address));
  }

  onApplicationBootstrap(): void {
    const { intervalMs } = this.config.ledger.ingress;
    if (!this.connection || !this.chain || intervalMs === 0) return;
    this.stop = repeatEvery(
      intervalMs,
      async () => {
        const report = await this.pass();
        if (report && Object.values(report).some((ids) => ids.length > 0)) {
          const counts = Object.entries(report).map(([what, ids]) => `${ids.length} ${what}`);
          this.logger.log(`chain ingress: ${counts.join(', ')}`);
        }
      },
      (error) => this.logger.warn(`chain ingress pass failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** One pass, unless another worker is running one (null then). */
  async pass(): Promise<IngressReport | null> {
    return onePassUnderLock(this.db, INGRESS_LOCK, () => this.ingest());
  }

  private async ingest(): Promise<IngressReport> {
    if (!this.connection || !this.chain) throw new Error('chain ingress needs CHAIN_RPC_URL and CHAIN_PROVIDER_KEY_FILE');
    const provider = (await this.connection.get()).address;
    const report: IngressReport = { imported: [], cancelled: [], progressed: [], refused: [], deferred: [] };
    const clusters = await this.records.clusters();
    if (clusters.length === 0) return report;
    const islandOf = new Map(clusters.map((c) => [c.cluster_id, c.island]));
    // Query/Jobs is not implemented on chain: every stored job is read at once (x/hpc's store).
    // A job of another provider on our cluster id is not ours to run.
    const ours = (await this.chain.hpcJobs()).map((stored) => stored.job).filter((job) => islandOf.has(job.clusterId) && job.providerAddress === provider);
    const followed = await this.follower.follow(ours, provider);
    report.cancelled.push(...followed.cancelled);
    report.progressed.push(...followed.progressed);
    const pending = ours.filter((job) => job.state === JobState.JOB_STATE_PENDING);
    for (let i = 0; i < pending.length; i += this.config.ledger.ingress.pageLimit) {
      const batch = pending.slice(i, i + this.config.ledger.ingress.pageLimit);
      const decided = await this.records.decided(batch.map((j) => j.jobId));
      for (const job of batch) {
        if (!decided.has(job.jobId)) await this.ingestOne(job, islandOf.get(job.clusterId)!, provider, report);
      }
    }
    return report;
  }

  private async ingestOne(job: HPCJob, island: string, provider: string, report: IngressReport): Promise<void> {
    try {
      const principal = await this.customer(job.customerAddress);
      const input = chainJobSubmission(job, island, this.config.ledger.ingress.containerRuntime);
      await this.jobs.submit(principal, input, `chain:${job.jobId}`, NO_MFA, {
        // Inside the job's own transaction: the import claim and the job commit together.
        afterInsert: async (row) => {
          if (!(await this.records.claimImport(job, island, row.id))) throw new AlreadyDecided();
        },
      });
      report.imported.push(job.jobId);
    } catch (error) {
      if (error instanceof AlreadyDecided) return;
      if (error instanceof Problem && error.status < 500) {
        const reason = `${error.title}: ${error.detail}`;
        if (await this.refuse(job, island, provider, error.status, reason)) report.refused.push({ chainJobId: job.jobId, reason });
        return;
      }
      this.logger.warn(`chain job ${job.jobId} left for a later pass: ${(error as Error).message}`);
      report.deferred.push(job.jobId);
    }
  }

  /** The customer's wallet principal, created as a wallet login would create it (the admin's mapping, or the ingress default account). */
  private async customer(address: string): Promise<Principal> {
    const initial = this.identity.initialAccount(address) ?? { kind: 'researcher' as const, slurmUser: this.config.ledger.ingress.defaultSlurmUser };
    const row = await this.wallets.ensureWalletPrincipal(address, initial);
    if (!row) throw new Problem(403, 'Forbidden', `the principal of ${address} is disabled`);
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      slurmUser: row.slurm_user,
      scopes: new Set(['submit']),
      credentialId: 'chain-ingress',
      chainAddress: row.chain_address,
    };
  }

  /** Records the refusal and queues the FAILED report, together; false if another worker decided first. */
  private async refuse(job: HPCJob, island: string, provider: string, status: number, reason: string): Promise<boolean> {
    const message = MsgReportJobStatus.fromPartial({
      providerAddress: provider,
      jobId: job.jobId,
      state: JobState.JOB_STATE_FAILED,
      statusMessage: `refused by Archipelago: ${reason}`.slice(0, MAX_STATUS_MESSAGE),
    });
    const refused = await this.records.refuse(job, island, status, reason, { typeUrl: MsgReportJobStatus.typeUrl, value: message });
    if (refused) this.logger.log(`chain job ${job.jobId} of ${job.customerAddress} refused: ${reason}`);
    return refused;
  }
}
