import { Logger } from '@nestjs/common';
import {
  SlurmClient,
  SlurmInexpressibleError,
  SlurmJobRecord,
  SlurmJobState,
  SlurmJobSnapshot,
  SlurmNodeRecord,
  SlurmPing,
  SlurmSubmitRequest,
  SlurmSubmitResult,
  SlurmTimestamp,
} from '../../core/slurm/slurm-client.port';
import { neverReached } from './slurm-errors';
import type { LoginNode, SlurmAdapter } from './slurm-adapter';
import type { AccountingRun } from '../../core/usage/accounting';
import type { SubmitFeature } from '../../core/sbatch/submit-features';

/** After the primary was found unreachable, calls go straight to the fallback this long before the primary is tried again. */
export const PRIMARY_RETRY_AFTER_MS = 5000;

/**
 * One island reached two ways: slurmrestd first, and the SSH adapter (the same SLURM, as the same
 * users) when slurmrestd cannot be connected to. Both adapters drive the same controller, so job
 * ids, tags and states are the same whichever one answered; only how we reach SLURM changes.
 * When slurmctld itself is down the fallback cannot help, and the primary's error stands.
 */
export class FallbackSlurmClient implements SlurmAdapter {
  private readonly logger: Logger;
  private primaryDownUntil = 0;

  constructor(
    private readonly primary: SlurmAdapter,
    private readonly fallback: SlurmAdapter,
    island: string,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = new Logger(`FallbackSlurmClient ${island}`);
  }

  /** Whether calls currently go to the fallback (for tests and readiness detail). */
  usingFallback(): boolean {
    return this.now() < this.primaryDownUntil;
  }

  private async route<T>(call: (client: SlurmClient) => Promise<T>): Promise<T> {
    if (this.usingFallback()) return call(this.fallback);
    try {
      const result = await call(this.primary);
      if (this.primaryDownUntil !== 0) this.logger.log('primary adapter reachable again');
      this.primaryDownUntil = 0;
      return result;
    } catch (error) {
      if (!neverReached(error)) throw error;
      if (this.primaryDownUntil === 0) this.logger.warn(`primary adapter unreachable, using the fallback: ${(error as Error).message}`);
      this.primaryDownUntil = this.now() + PRIMARY_RETRY_AFTER_MS;
      return call(this.fallback);
    }
  }

  /** A job slurmrestd cannot express (e.g. `--signal=B:`) goes to sbatch over SSH, which can. */
  async submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult> {
    try {
      return await this.route((client) => client.submit(user, request));
    } catch (error) {
      if (!(error instanceof SlurmInexpressibleError)) throw error;
      return this.fallback.submit(user, request);
    }
  }

  listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    return this.route((client) => client.listJobs(since));
  }

  getJob(jobId: number): Promise<SlurmJobRecord[]> {
    return this.route((client) => client.getJob(jobId));
  }
  jobStates(jobIds: readonly number[]): Promise<SlurmJobState[] | null> {
    return this.route((client) => client.jobStates(jobIds));
  }

  cancel(user: string, jobId: number): Promise<void> {
    return this.route((client) => client.cancel(user, jobId));
  }

  setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    return this.route((client) => client.setHold(user, jobId, hold));
  }

  listNodes(): Promise<SlurmNodeRecord[]> {
    return this.route((client) => client.listNodes());
  }

  runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    return this.route((client) => client.runsOf(slurmJobIds));
  }

  /** A submission may have gone either way: the longer of the two. */
  /** Nothing: what slurmrestd cannot send goes to sbatch over SSH (submit). */
  async unsendable(): Promise<readonly SubmitFeature[]> {
    return [];
  }

  submitSettleMs(): number {
    return Math.max(this.primary.submitSettleMs(), this.fallback.submitSettleMs());
  }

  /** The fallback's SSH sessions serve file access and account look-ups too. */
  loginNode(): LoginNode | null {
    return this.fallback.loginNode() ?? this.primary.loginNode();
  }

  /** The island is up if either way reaches its controller. */
  async ping(): Promise<SlurmPing> {
    const primary = this.usingFallback() ? null : await this.primary.ping();
    if (primary?.up) {
      this.primaryDownUntil = 0;
      return primary;
    }
    return this.fallback.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }
}
