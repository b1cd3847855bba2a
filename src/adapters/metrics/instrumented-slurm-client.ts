import type { AccountingRun } from '../../core/usage/accounting';
import type { Metrics } from './metrics';
import {
  SlurmClient,
  SlurmJobRecord,
  SlurmJobState,
  SlurmJobSnapshot,
  SlurmNodeRecord,
  SlurmPing,
  SlurmRejectedError,
  SlurmSubmitRequest,
  SlurmSubmitResult,
  SlurmTimestamp,
  SlurmUnavailableError,
} from '../../core/slurm/slurm-client.port';
import type { SubmitFeature } from '../../core/sbatch/submit-features';

function errorKind(error: unknown): 'rejected' | 'unavailable' | 'error' {
  if (error instanceof SlurmRejectedError) return 'rejected';
  if (error instanceof SlurmUnavailableError) return 'unavailable';
  return 'error';
}

/** A SlurmClient that times every call and counts failures per island and operation, then behaves exactly like the one it wraps. */
export class InstrumentedSlurmClient implements SlurmClient {
  constructor(
    private readonly inner: SlurmClient,
    private readonly island: string,
    private readonly metrics: Metrics,
  ) {}

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const stop = this.metrics.slurmCallDuration.startTimer({ island: this.island, operation });
    try {
      const result = await call();
      stop({ outcome: 'ok' });
      return result;
    } catch (error) {
      const kind = errorKind(error);
      stop({ outcome: kind });
      this.metrics.slurmCallErrors.inc({ island: this.island, operation, kind });
      throw error;
    }
  }

  submit(user: string, request: SlurmSubmitRequest): Promise<SlurmSubmitResult> {
    return this.timed('submit', () => this.inner.submit(user, request));
  }

  listJobs(since?: SlurmTimestamp): Promise<SlurmJobSnapshot | null> {
    return this.timed('list_jobs', () => this.inner.listJobs(since));
  }

  getJob(jobId: number): Promise<SlurmJobRecord[]> {
    return this.timed('get_job', () => this.inner.getJob(jobId));
  }
  jobStates(jobIds: readonly number[]): Promise<SlurmJobState[] | null> {
    return this.timed('job_states', () => this.inner.jobStates(jobIds));
  }

  cancel(user: string, jobId: number): Promise<void> {
    return this.timed('cancel', () => this.inner.cancel(user, jobId));
  }

  setHold(user: string, jobId: number, hold: boolean): Promise<void> {
    return this.timed(hold ? 'hold' : 'release', () => this.inner.setHold(user, jobId, hold));
  }

  listNodes(): Promise<SlurmNodeRecord[]> {
    return this.timed('list_nodes', () => this.inner.listNodes());
  }

  ping(): Promise<SlurmPing> {
    return this.timed('ping', () => this.inner.ping());
  }

  runsOf(slurmJobIds: readonly number[]): Promise<AccountingRun[]> {
    return this.timed('accounting', () => this.inner.runsOf(slurmJobIds));
  }

  unsendable(): Promise<readonly SubmitFeature[]> {
    return this.inner.unsendable();
  }

  submitSettleMs(): number {
    return this.inner.submitSettleMs();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
